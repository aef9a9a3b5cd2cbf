// The training loop's settings, once (the optimiser's are in src/optim/settings.ts): how many updates,
// how often the whole sets are evaluated, the seed of the minibatch order, and early stopping. The CLI's flags and
// the library's train() options are both checked against these rows.
import { type SettingRow, checkSetting } from "../settings.ts";
import { OPTIMIZER_SETTINGS } from "../optim/settings.ts";

export const TRAIN_SETTINGS = {
  steps: { kind: "integer", min: 1, default: 200, help: "number of updates" },
  evalEvery: { kind: "integer", min: 0, default: 50, help: "error on the whole training and held-out sets every N updates, 0: only at the end" },
  seed: OPTIMIZER_SETTINGS.seed,
  earlyStop: { kind: "integer", min: 0, default: 0, help: "stop once N held-out evaluations in a row have not improved on the best (0: never); needs a held-out set" },
} as const satisfies Record<string, SettingRow & { default: number }>;

export type TrainSettingKey = keyof typeof TRAIN_SETTINGS;

/** A training setting's value, checked, or its default when undefined; `label` names it in the message. */
export function trainSetting(key: TrainSettingKey, value: unknown, label: string = key): number {
  const row = TRAIN_SETTINGS[key];
  return value === undefined ? row.default : checkSetting<number>(key, row, value, label);
}
