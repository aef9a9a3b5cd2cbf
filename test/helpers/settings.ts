// The optimiser table's values (src/optim/settings.ts) in the shape the engines' constructors take,
// for tests that build an engine directly.
import { type Preset, resolveOptimizerSettings } from "../../src/optim/settings.ts";

/** A preset's Kronecker settings, as the table resolves them. */
export function dampingPreset(preset: Preset) {
  const s = resolveOptimizerSettings("kfra", { preset });
  return { tau0: s.tau0, gamma0: s.gamma0, adapt: s.adapt, tauPeriod: s.tauPeriod, gammaPeriod: s.gammaPeriod, factorDecay: s.factorDecay, polyakMax: s.polyakMax, rampSteps: s.rampSteps };
}

const adam = resolveOptimizerSettings("adam", {});
/** The first-order settings no test chooses: momentum, Adam's β₁, β₂ and ε. */
export const FIRST_ORDER_DEFAULTS = { momentum: resolveOptimizerSettings("momentum", {}).momentum, beta1: adam.beta1, beta2: adam.beta2, epsilon: adam.epsilon };
