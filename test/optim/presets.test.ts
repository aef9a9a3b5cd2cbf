// The second-order presets: one table, and settings given explicitly (flags, API options) override
// a preset's value only when given.
import { describe, expect, test } from "vitest";
import { SECOND_ORDER_PRESETS, presetWith } from "../../src/optim/kronecker/presets.ts";
import { parseTrainArgs, trainHelp } from "../../src/train/config.ts";

/** The preset settings a command line gives createOptimizer (src/train/setup.ts passes exactly these). */
function settingsOf(argv: string[]) {
  const c = parseTrainArgs(argv);
  const { tau0, gamma0, adapt, tauPeriod, gammaPeriod, factorDecay, polyakMax, rampSteps } = c;
  return presetWith(c.damping, { tau0, gamma0, adapt, tauPeriod, gammaPeriod, factorDecay, polyakMax, rampSteps });
}

describe("second-order presets", () => {
  test("without flags a run gets its preset's values, all of them", () => {
    expect(settingsOf([])).toEqual(SECOND_ORDER_PRESETS.fixed);
    expect(settingsOf(["--damping", "adaptive"])).toEqual(SECOND_ORDER_PRESETS.adaptive);
    expect(SECOND_ORDER_PRESETS.adaptive.polyakMax).toBe(0.95);
    expect(SECOND_ORDER_PRESETS.fixed.rampSteps).toBe(100);
  });

  test("a flag given overrides only its own value", () => {
    const s = settingsOf(["--damping", "adaptive", "--tau-period", "3", "--polyak-max", "0.8", "--ramp-steps", "10"]);
    expect(s).toEqual({ ...SECOND_ORDER_PRESETS.adaptive, tauPeriod: 3, polyakMax: 0.8, rampSteps: 10 });
    expect(settingsOf(["--factor-decay", "0.5"]).factorDecay).toBe(0.5);
    expect(settingsOf(["--damping", "adaptive", "--no-adapt"]).adapt).toBe(false);
    // A preset that does not adapt is not made to by the default --adapt.
    expect(settingsOf(["--damping", "fixed"]).adapt).toBe(false);
  });

  test("the new flags are validated and shown with each preset's default", () => {
    expect(() => parseTrainArgs(["--polyak-max", "1"])).toThrow(/--polyak-max 1: must be below 1/);
    expect(() => parseTrainArgs(["--ramp-steps", "1.5"])).toThrow(/--ramp-steps '1.5': expected an integer/);
    expect(trainHelp()).toMatch(/--polyak-max N .*adaptive 0\.95, fixed 0\.9/);
    expect(trainHelp()).toMatch(/--tau-period N .*the preset's, 5\)/);
  });
});
