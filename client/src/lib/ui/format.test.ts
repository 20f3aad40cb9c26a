import { describe, expect, it } from 'vitest';
import { formatCount, formatDateTime, formatLimit, isoDay, lastDays } from './format';

describe('format', () => {
  it('counts with the locale’s separators', () => {
    expect(formatCount(1234567, 'en-US')).toBe('1,234,567');
    expect(formatCount(0, 'en-US')).toBe('0');
  });

  it('null and 0 limits are no limit', () => {
    expect(formatLimit(null)).toBe('No limit');
    expect(formatLimit(0)).toBe('No limit');
    expect(formatLimit(50000, 'en-US')).toBe('50,000');
  });

  it('dates: none is a dash, a bad one is shown as it came', () => {
    expect(formatDateTime(null)).toBe('—');
    expect(formatDateTime('soon')).toBe('soon');
    expect(formatDateTime('2025-03-05T14:07:00Z', 'en-US')).toMatch(/Mar 5, 2025/);
  });

  it('days are UTC days; the last 30 days include today', () => {
    expect(isoDay(new Date('2025-03-05T23:59:59Z'))).toBe('2025-03-05');
    expect(lastDays(30, new Date('2025-03-05T10:00:00Z'))).toEqual({ from: '2025-02-04', to: '2025-03-05' });
    expect(lastDays(1, new Date('2025-03-05T10:00:00Z'))).toEqual({ from: '2025-03-05', to: '2025-03-05' });
  });
});
