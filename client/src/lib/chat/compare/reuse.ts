// Regenerating with a version's parameters, as they were (seed included, so a seeded answer can
// be reproduced). Tiny and imported by the regenerate menu, apart from the lazily loaded view.
import type { SamplingParams } from '../../api';

/** A copy of `parameters` without the unset ones; undefined when none is set. */
export function copyParameters(parameters: SamplingParams | undefined): SamplingParams | undefined {
  const out: SamplingParams = {};
  for (const [name, value] of Object.entries(parameters ?? {})) {
    if (value !== null && value !== undefined) out[name] = structuredClone(value);
  }
  return Object.keys(out).length ? out : undefined;
}
