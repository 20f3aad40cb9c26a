// The model catalog (`GET /api/models`): the models, each with its parameter table, and the
// server's limits. Loaded once per session; read by the parameter panel, the regenerate menu and
// the composer (the message length limit).
import type { ApiClient, ModelInfo, ModelsResponse, ParamSpec } from '../api';
import { modelOf } from './params';

/** How a model is named in a model picker: its label, marked when its endpoint does not answer. */
export function pickerLabel(model: Pick<ModelInfo, 'label' | 'reachable'>): string {
  return model.reachable === false ? `${model.label} (not responding)` : model.label;
}

/**
 * The parameters the regenerate menu offers, in this order: the sampling settings most worth
 * changing for one answer (the panel has all of them). Names only — each field's type, bounds
 * and label come from the model's table like the panel's; a name the model does not list or
 * does not accept is left out.
 */
export const REGENERATE_PARAMS: readonly string[] = ['temperature', 'top_p', 'top_k', 'max_tokens', 'seed'];

export class Catalog {
  /** Null until loaded (or when it could not be). */
  data = $state.raw<ModelsResponse | null>(null);

  get models(): ModelInfo[] {
    return this.data?.models ?? [];
  }

  get demo(): boolean {
    return this.data?.demo ?? false;
  }

  get maxMessageLength(): number | undefined {
    return this.data?.limits.max_message_length;
  }

  /** The model used when a chat names none. */
  get defaultModel(): ModelInfo | undefined {
    return modelOf(this.models, null, this.data?.default_model);
  }

  /** Model `id`, else the default one. */
  model(id?: string | null): ModelInfo | undefined {
    return modelOf(this.models, id, this.data?.default_model);
  }

  /** What model `id` is called on screen: its label, else its id (a model not listed). */
  label(id: string): string {
    return this.models.find((m) => m.id === id)?.label ?? id;
  }

  /** The regenerate menu's fields for an answer made with model `id`: accepted ones, in order. */
  regenerateFields(id?: string | null): [string, ParamSpec][] {
    const table = this.model(id)?.parameters ?? {};
    return REGENERATE_PARAMS.flatMap((name) => {
      const spec = table[name];
      return spec?.accepted && (spec.type === 'float' || spec.type === 'integer') ? [[name, spec] as [string, ParamSpec]] : [];
    });
  }

  async load(api: Pick<ApiClient, 'models'>): Promise<void> {
    try {
      this.data = await api.models();
    } catch {
      this.data = null;
    }
  }

  reset(): void {
    this.data = null;
  }
}

/** The page's catalog. */
export const catalog = new Catalog();
