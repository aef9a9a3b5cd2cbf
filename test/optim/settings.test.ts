// The optimiser settings table: each preset's values, a setting given overriding only its own value,
// per-method defaults, and the checks (unknown key, a key the method does not read, out of range).
import { describe, expect, test } from "vitest";
import { OPTIMIZER_SETTINGS, defaultText, resolveOptimizerSettings } from "../../src/optim/settings.ts";
import { SettingError, accepted } from "../../src/settings.ts";

describe("optimiser settings", () => {
  test("each preset's values, the paper's adaptive and the authors' fixed", () => {
    expect(resolveOptimizerSettings("kfra", {})).toMatchObject({ preset: "fixed", tau0: 1e-3, gamma0: 1e-3, adapt: false, polyakMax: 0.9, rampSteps: 100, factorDecay: 0.9, tauPeriod: 5, gammaPeriod: 20 });
    expect(resolveOptimizerSettings("kfac", { preset: "adaptive" })).toMatchObject({ tau0: 1e-3, gamma0: 1e-3, adapt: true, polyakMax: 0.95, rampSteps: 0 });
  });

  test("a setting given overrides only its own value", () => {
    const base = resolveOptimizerSettings("kfra", { preset: "adaptive" });
    const s = resolveOptimizerSettings("kfra", { preset: "adaptive", tauPeriod: 3, polyakMax: 0.8, adapt: false });
    expect(s).toEqual({ ...base, tauPeriod: 3, polyakMax: 0.8, adapt: false });
  });

  test("per-method defaults: Adam's learning rate 2^-9, the others' 2^-6", () => {
    expect(resolveOptimizerSettings("adam", {}).lr).toBe(2 ** -9);
    expect(resolveOptimizerSettings("sgd", {}).lr).toBe(2 ** -6);
    expect(defaultText(OPTIMIZER_SETTINGS.lr)).toBe("adam 0.001953125, otherwise 0.015625");
    expect(defaultText(OPTIMIZER_SETTINGS.polyakMax)).toBe("fixed 0.9, adaptive 0.95");
    expect(defaultText(OPTIMIZER_SETTINGS.tau0)).toBe("0.001");
  });

  test.each([
    ["kfra", { lr: 0.1 }, "lr: not read by kfra; it is a setting of sgd, momentum, nesterov, adam"],
    ["adam", { tauu: 1 }, "tauu: not a setting of adam; its settings are batchSize, weightDecay, seed, lr, decayPeriod, beta1, beta2, epsilon"],
    ["adam", { lr: Number.NaN }, "lr: must be a number > 0, got NaN"],
    ["adam", { beta1: 1 }, "beta1: must be a number in [0, 1), got 1"],
    ["kfra", { tau0: -1 }, "tau0: must be a number > 0, got -1"],
    ["kfra", { preset: "bogus" }, "preset: must be one of fixed, adaptive, got 'bogus'"],
    ["kfra", { factorDecay: 2 }, "factorDecay: must be a number in [0, 1), got 2"],
    ["kfra", { tauPeriod: 0 }, "tauPeriod: must be an integer ≥ 1, got 0"],
    ["kfra", { tauPeriod: 2.5 }, "tauPeriod: must be an integer ≥ 1, got 2.5"],
    ["momentum", { momentum: 5 }, "momentum: must be a number in [0, 1), got 5"],
    ["kfac", { adapt: "yes" }, "adapt: must be true or false, got 'yes'"],
  ] as const)("%s %j is refused: %s", (method, given, message) => {
    let error: unknown;
    try {
      resolveOptimizerSettings(method, given);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SettingError);
    expect((error as Error).message).toBe(message);
  });

  test("every row says in words what it accepts", () => {
    for (const row of Object.values(OPTIMIZER_SETTINGS)) expect(accepted(row)).toMatch(/^(a number|an integer|one of|true or false)/);
  });
});
