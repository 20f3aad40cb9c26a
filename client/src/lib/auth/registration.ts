// What the sign-up form shows, from who may sign up (`GET /api/auth/registration`) and the
// invite code of the page's address (invite links are `{PUBLIC_URL}/?invite=CODE`).
import type { RegistrationInfo } from '../api';

/** The invite code in a query string (`location.search`), or ''. */
export function inviteFromSearch(search: string): string {
  return new URLSearchParams(search).get('invite')?.trim() ?? '';
}

export interface SignUpRules {
  /** Whether anyone may sign up here at all (not when registration is closed). */
  allowed: boolean;
  /** Whether the form has an "Invite code" field. */
  inviteField: boolean;
  /** Whether the code is needed (invite mode). */
  inviteRequired: boolean;
  /** Whether an admin must approve the account before it can sign in. */
  approval: boolean;
  /** "Only email addresses at example.org can register.", or null when any address can. */
  domainsNote: string | null;
}

/**
 * `info` null: the server did not say (an older server, or an error): an open registration.
 * An invite in the address shows its field whatever the mode (an invite may grant a role).
 */
export function signUpRules(info: RegistrationInfo | null, invite: string): SignUpRules {
  const mode = info?.mode ?? 'open';
  const domains = info?.allowed_domains ?? [];
  return {
    allowed: mode !== 'closed',
    inviteField: mode === 'invite' || invite !== '',
    inviteRequired: mode === 'invite',
    approval: mode === 'approval',
    domainsNote: domains.length ? `Only email addresses at ${list(domains)} can register.` : null,
  };
}

/** "a", "a or b", "a, b or c". */
function list(items: string[]): string {
  return items.length < 2 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}
