// Flag parsing: defaults, validation messages that name the flag and list valid values, and the
// network a config describes.
import { describe, expect, test } from "vitest";
import { RUN_SETTINGS, optimizerOptions, parseTrainArgs, trainHelp } from "../../src/run/config.ts";
import { networkFor } from "../../src/run/network.ts";
import { UsageError } from "../../src/errors.ts";
import { OPTIMIZER_SETTINGS } from "../../src/optim/settings.ts";
import { flagOf } from "../../src/settings.ts";
import { TRAIN_SETTINGS } from "../../src/train/settings.ts";
import { SpecError } from "../../src/nn/spec.ts";

describe("train flags", () => {
  test("defaults run KFRA on CURVES with the paper's autoencoder at batch 1000", () => {
    const c = parseTrainArgs([]);
    expect(c.opt).toBe("kfra");
    expect(c.dataset).toBe("curves");
    expect(c.batch).toBe(1000);
    expect(c.shuffle).toBe(true);
    expect(c.adapt).toBe(true); // not --no-adapt: the preset decides
    expect(c.factorMomentum).toBe(true);
    expect(networkFor(c)).toEqual({ sizes: [784, 1000, 500, 250, 30, 250, 500, 1000, 784], transfers: Array(7).fill("tanh"), loss: "bce" });
  });
  test("--help lists every row of the three tables as a flag, with each preset's default", () => {
    const help = trainHelp();
    for (const rows of [RUN_SETTINGS, TRAIN_SETTINGS, OPTIMIZER_SETTINGS]) for (const [key, row] of Object.entries(rows)) expect(help).toContain(`--${flagOf(key, row)}`);
    expect(help).toMatch(/--polyak-max N .*fixed 0\.9, adaptive 0\.95/);
    expect(help).toMatch(/--tau-period N .*\(default 5\)/);
    expect(help).toMatch(/--damping +the same as --preset/);
  });
  test("--damping is the old name of --preset; old and new give the same settings", () => {
    expect(parseTrainArgs(["--damping", "adaptive"]).preset).toBe("adaptive");
    expect(optimizerOptions(parseTrainArgs(["--damping", "adaptive"]))).toEqual(optimizerOptions(parseTrainArgs(["--preset", "adaptive"])));
  });
  test("the optimiser options of a command line: the method's settings only, negated flags only when given", () => {
    expect(optimizerOptions(parseTrainArgs(["--opt", "adam", "--lr", "0.01"]))).toEqual({ method: "adam", lr: 0.01, decayPeriod: 0, weightDecay: 1e-5, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, seed: 0, batchSize: 1000 });
    const kfra = optimizerOptions(parseTrainArgs(["--no-adapt"]));
    expect(kfra.adapt).toBe(false);
    expect(kfra.factorMomentum).toBeUndefined();
    expect(kfra.lr).toBeUndefined();
  });
  test.each([
    [["--opt", "lbfgs"], /^--opt: must be one of kfra, kflr, kfac, sgd, momentum, nesterov, adam, got 'lbfgs'$/],
    [["--steps", "ten"], /^--steps: must be an integer ≥ 1, got 'ten'$/],
    [["--batch", "0"], /^--batch: must be an integer ≥ 1, got '0'$/],
    [["--opt", "adam", "--lr=-1"], /^--lr: must be a number > 0, got '-1'$/],
    [["--frobnicate"], /^unknown flag --frobnicate; valid flags: --opt/],
    [["--seed", "1e30"], /^--seed: must be an integer ≥ 0, got '1e30'$/],
    [["--opt", "adam", "--lr", "1e400"], /^--lr: must be a number > 0, got '1e400'$/],
    [["--steps", "1e400"], /^--steps: must be an integer ≥ 1, got '1e400'$/],
    [["--batch", "2e20"], /^--batch: must be an integer ≥ 1, got '2e20'$/],
    [["--lr", "-1e999"], /--lr needs a value; write a value that starts with '-' as --lr=VALUE/],
    [["--device", "tpu"], /^--device: must be one of auto, webgpu, cpu, reference, got 'tpu'$/],
    [["--task", "odd-even"], /--task odd-even needs --dataset mnist/],
    [["--opt", "momentum", "--momentum", "5"], /^--momentum: must be a number in \[0, 1\), got '5'$/],
    [["--steps", "0x10"], /^--steps: must be an integer ≥ 1, got '0x10'$/],
    [["--lr", "0.1"], /^--lr: not read by kfra; it is a setting of sgd, momentum, nesterov, adam$/],
    [["--steps", "5", "--steps", "6"], /^--steps is given twice \('5', then '6'\); give it once$/],
    [["--damping", "fixed", "--preset", "adaptive"], /^--preset is given twice \(as --damping and --preset\); give it once$/],
    [["--polyak-max", "1"], /^--polyak-max: must be a number in \[0, 1\), got '1'$/],
    [["--ramp-steps", "1.5"], /^--ramp-steps: must be an integer ≥ 0, got '1.5'$/],
  ])("%j is rejected", (argv, message) => {
    expect(() => parseTrainArgs(argv as string[])).toThrow(UsageError);
    expect(() => parseTrainArgs(argv as string[])).toThrow(message);
  });
  test("networks: faces uses sse and 625 inputs; odd-even the 3-output mixture; a mismatched --arch is refused", () => {
    expect(networkFor(parseTrainArgs(["--dataset", "faces"])).sizes[0]).toBe(625);
    expect(networkFor(parseTrainArgs(["--dataset", "faces"])).loss).toBe("sse");
    expect(networkFor(parseTrainArgs(["--dataset", "mnist", "--task", "odd-even"]))).toEqual({ sizes: [784, 1000, 500, 250, 30, 3], transfers: Array(4).fill("tanh"), loss: "mixture" });
    expect(() => networkFor(parseTrainArgs(["--arch", "625-30-625"]))).toThrow(/input size 625 does not match the dataset's 784/);
    expect(() => networkFor(parseTrainArgs(["--arch", "784-30-10"]))).toThrow(SpecError);
    expect(() => networkFor(parseTrainArgs(["--act", "swish"]))).toThrow(/--act 'swish': valid transfer functions are/);
    expect(networkFor(parseTrainArgs(["--arch", "784-64-784", "--act", "relu"])).transfers).toEqual(["relu"]);
  });
});
