import { describe, expect, it } from 'vitest';
import { inviteFromSearch, signUpRules } from './registration';

describe('the sign-up form', () => {
  it('reads the invite code of an invite link', () => {
    expect(inviteFromSearch('?invite=AbC123')).toBe('AbC123');
    expect(inviteFromSearch('?x=1&invite=%20a%2Bb%20')).toBe('a+b');
    expect(inviteFromSearch('')).toBe('');
    expect(inviteFromSearch('?invite=')).toBe('');
  });

  it('open: no invite field, no notes', () => {
    expect(signUpRules({ mode: 'open', allowed_domains: [] }, '')).toEqual({
      allowed: true,
      inviteField: false,
      inviteRequired: false,
      approval: false,
      domainsNote: null,
    });
    // The server did not say: open.
    expect(signUpRules(null, '').allowed).toBe(true);
  });

  it('closed: no sign-up', () => {
    expect(signUpRules({ mode: 'closed', allowed_domains: [] }, 'code').allowed).toBe(false);
  });

  it('invite: the code is needed; an invite link shows its code in any mode', () => {
    expect(signUpRules({ mode: 'invite', allowed_domains: [] }, '')).toMatchObject({ inviteField: true, inviteRequired: true });
    expect(signUpRules({ mode: 'open', allowed_domains: [] }, 'code')).toMatchObject({ inviteField: true, inviteRequired: false });
  });

  it('approval and allowed domains are said', () => {
    expect(signUpRules({ mode: 'approval', allowed_domains: [] }, '').approval).toBe(true);
    expect(signUpRules({ mode: 'open', allowed_domains: ['a.org'] }, '').domainsNote).toBe(
      'Only email addresses at a.org can register.',
    );
    expect(signUpRules({ mode: 'open', allowed_domains: ['a.org', 'b.org', 'c.org'] }, '').domainsNote).toBe(
      'Only email addresses at a.org, b.org or c.org can register.',
    );
  });
});
