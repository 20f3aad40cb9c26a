// The state of a form that sends one request: busy while it runs, then the error's message and
// its field errors, with the focus moved to the first field to fix.
import { tick } from 'svelte';

export class FormState {
  busy = $state(false);
  /** What went wrong, for the form's alert. */
  message = $state<string | null>(null);
  /** Field name → what is wrong with it (an API error's `fields`). */
  fields = $state<Record<string, string>>({});

  readonly #describe: (error: unknown) => string;
  readonly #codeFields: Record<string, string>;

  /**
   * `describe`: a short, human message for any error. `codeFields`: error codes that are about
   * one field (e.g. `wrong_password` → `current_password`), shown next to it.
   */
  constructor(describe: (error: unknown) => string, codeFields: Record<string, string> = {}) {
    this.#describe = describe;
    this.#codeFields = codeFields;
  }

  /**
   * Runs `action`; true when it succeeded. When it fails its error is shown, and keyboard and
   * screen-reader users land on the first field of `form` marked invalid.
   */
  async run(form: HTMLElement | undefined, action: () => Promise<void>): Promise<boolean> {
    if (this.busy) return false;
    this.busy = true;
    this.message = null;
    this.fields = {};
    try {
      await action();
      return true;
    } catch (error) {
      this.fail(error);
      await tick();
      form?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
      return false;
    } finally {
      this.busy = false;
    }
  }

  /** Shows `error` (its `fields`, if it has any, go to the fields). */
  fail(error: unknown, fields?: Record<string, string>): void {
    this.message = this.#describe(error);
    const own = typeof error === 'object' && error !== null && 'fields' in error ? (error as { fields: unknown }).fields : null;
    const code = typeof error === 'object' && error !== null && 'code' in error ? (error as { code: unknown }).code : null;
    const field = typeof code === 'string' ? this.#codeFields[code] : undefined;
    this.fields =
      fields ?? (field ? { [field]: this.message } : typeof own === 'object' && own !== null ? (own as Record<string, string>) : {});
  }

  reset(): void {
    this.message = null;
    this.fields = {};
  }
}
