import { describe, expect, it } from 'vitest';
import { suggest } from '../../src/cli/suggest.js';

const COMMANDS = ['server', 'login', 'logout', 'whoami', 'users', 'api-tokens', 'audit', 'help'];

describe('suggest', () => {
  it.each([
    ['userz', 'users'],
    ['usres', 'users'],
    ['user', 'users'],
    ['api-token', 'api-tokens'],
    ['apitokens', 'api-tokens'],
    ['loign', 'login'],
    ['logotu', 'logout'],
    ['adit', 'audit'],
    ['servr', 'server'],
  ])('suggests "%s" → "%s"', (typo, expected) => {
    expect(suggest(typo, COMMANDS)).toBe(expected);
  });

  it.each(['devices', 'x', 'zzzzzz', 'rollouts'])('suggests nothing for the unrelated word "%s"', (word) => {
    expect(suggest(word, COMMANDS)).toBeUndefined();
  });
});
