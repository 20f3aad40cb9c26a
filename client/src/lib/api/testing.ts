// For unit tests of code that calls the API: an ApiClient whose fetch records each call and
// answers as the test says. Imported by tests only (nothing of the app imports it).
import { ApiClient } from './client';

export type Call = { method: string; url: string; body: unknown; auth: string | undefined };

/** A JSON response. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

/** A client (signed in with the token `tok`) whose fetch records each call and answers with `answer(call)`. */
export function recording(answer: (call: Call) => Response) {
  const calls: Call[] = [];
  const client = new ApiClient({
    fetch: async (url, init = {}) => {
      const headers = (init.headers ?? {}) as Record<string, string>;
      const call = {
        method: init.method ?? 'GET',
        url,
        body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
        auth: headers.Authorization,
      };
      calls.push(call);
      return answer(call);
    },
  });
  client.setToken('tok');
  return { client, calls };
}
