// How parameters are named on screen. The parameters themselves come from the server; this is
// only wording, and optional: a name missing here gets a readable label made from the name.

interface Wording {
  label: string;
  /** What an empty field means (default: the server's default). */
  unset?: string;
}

const WORDING: Record<string, Wording> = {
  temperature: { label: 'Temperature' },
  top_p: { label: 'Top P' },
  top_k: { label: 'Top K' },
  min_p: { label: 'Min P' },
  max_tokens: { label: 'Max tokens' },
  repetition_penalty: { label: 'Repetition penalty' },
  frequency_penalty: { label: 'Frequency penalty' },
  presence_penalty: { label: 'Presence penalty' },
  seed: { label: 'Seed', unset: 'Random' },
  stop: { label: 'Stop sequences' },
  system_prompt: { label: 'System prompt', unset: 'None' },
  response_format: { label: 'Response format', unset: 'None' },
};

/** "logit_bias" → "Logit bias". */
function readable(name: string): string {
  const words = name.replace(/[_-]+/g, ' ').trim();
  return words ? words[0]!.toUpperCase() + words.slice(1) : name;
}

/** The label of parameter `name`. */
export function paramLabel(name: string): string {
  return WORDING[name]?.label ?? readable(name);
}

/** What an empty field of parameter `name` stands for ("Default", "Random", "None"). */
export function unsetText(name: string): string {
  return WORDING[name]?.unset ?? 'Default';
}
