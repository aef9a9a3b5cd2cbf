// Flag parsing: defaults, validation messages that name the flag and list valid values, and the
// network a config describes.
import { describe, expect, test } from "vitest";
import { parseTrainArgs, trainHelp, TRAIN_FLAGS, UsageError } from "../../src/train/config.ts";
import { networkFor } from "../../src/train/setup.ts";
import { SpecError } from "../../src/nn/spec.ts";

describe("train flags", () => {
  test("defaults run KFRA on CURVES with the paper's autoencoder at batch 1000", () => {
    const c = parseTrainArgs([]);
    expect(c.opt).toBe("kfra");
    expect(c.dataset).toBe("curves");
    expect(c.batch).toBe(1000);
    expect(c.shuffle).toBe(true);
    expect(c.adapt).toBe(true);
    expect(c.factorMomentum).toBe(true);
    expect(networkFor(c)).toEqual({ sizes: [784, 1000, 500, 250, 30, 250, 500, 1000, 784], transfers: Array(7).fill("tanh"), loss: "bce" });
  });
  test("--help lists every flag", () => {
    const help = trainHelp();
    for (const name of Object.keys(TRAIN_FLAGS)) expect(help).toContain(`--${name}`);
  });
  test.each([
    [["--opt", "lbfgs"], /--opt 'lbfgs': valid values are sgd, momentum, nesterov, adam, kfra, kflr, kfac/],
    [["--steps", "ten"], /--steps 'ten': expected a number/],
    [["--batch", "0"], /--batch '0': must be at least 1/],
    [["--lr=-1"], /--lr .-1.: must be positive/],
    [["--frobnicate"], /^unknown flag --frobnicate; valid flags: --opt/],
    [["--seed", "1e30"], /--seed '1e30': expected an integer no larger than 9007199254740991/],
    [["--lr", "1e400"], /--lr '1e400': expected a number/],
    [["--steps", "1e400"], /--steps '1e400': expected a number/],
    [["--batch", "2e20"], /--batch '2e20': expected an integer no larger than/],
    [["--lr", "-1e999"], /--lr needs a value; write a value that starts with '-' as --lr=VALUE/],
    [["--device", "tpu"], /--device 'tpu': valid values are auto, webgpu, cpu, reference/],
    [["--task", "odd-even"], /--task odd-even needs --dataset mnist/],
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
