import Type from 'typebox';
import { Compile } from 'typebox/compile';
import { describe, expect, it } from 'vitest';
import { explainSchemaError, schemaProblem } from '../src/schema-errors.js';

describe('explainSchemaError', () => {
  it('finds nothing wrong with a valid value', () => {
    const schema = Type.Object({ a: Type.Array(Type.Integer()) }, { additionalProperties: false });
    expect(explainSchemaError(schema, { a: [1, 2] })).toBeUndefined();
  });

  it.each([
    [Type.String({ minLength: 3 }), 'ab', 'must have at least 3 characters'],
    [Type.Number({ exclusiveMaximum: 10 }), 10, 'must be less than 10, got 10'],
    [Type.Array(Type.Number(), { minItems: 2 }), [1], 'must have at least 2 items'],
    [Type.Object({ a: Type.Number() }, { minProperties: 2 }), { a: 1 }, 'must have at least 2 fields'],
    [Type.Literal('x'), 'y', `must be 'x', got "y"`],
    [Type.Null(), 0, 'must be null, got 0'],
    [Type.Boolean(), [], 'must be a boolean, got an array'],
  ])('explains %j against %j', (schema, value, message) => {
    expect(explainSchemaError(schema, value)).toEqual({ path: [], message });
  });

  it('explains a union of objects without a discriminator against each branch', () => {
    const schema = Type.Union([
      Type.Object({ a: Type.Number() }, { additionalProperties: false }),
      Type.Object({ b: Type.String() }, { additionalProperties: false }),
    ]);
    expect(explainSchemaError(schema, { a: 1 })).toBeUndefined();
    expect(explainSchemaError(schema, { a: 'x' })).toEqual({ path: ['a'], message: 'must be a number, got "x"' });
    expect(explainSchemaError(schema, { c: 1 })).toEqual({ path: ['a'], message: 'required field missing' });
    expect(explainSchemaError(schema, 5)).toEqual({ path: [], message: 'must be an object, got 5' });
  });

  it('explains a union of one type through that branch', () => {
    const schema = Type.Union([Type.String({ maxLength: 2 }), Type.Null()]);
    expect(explainSchemaError(schema, 'abc')).toEqual({ path: [], message: '3 characters, the limit is 2' });
  });

  it('ignores what is not a schema', () => {
    expect(explainSchemaError(null, 1)).toBeUndefined();
  });
});

describe('schemaProblem', () => {
  it("falls back on the validator's first error for keywords the walker does not know", () => {
    const schema = Type.Object({ n: Type.Number({ multipleOf: 5 }) });
    const checker = Compile(schema);
    expect(checker.Check({ n: 7 })).toBe(false);
    const found = schemaProblem(schema, { n: 7 }, () => checker.Errors({ n: 7 }));
    expect(found.path).toEqual(['n']);
    expect(found.message).toMatch(/multiple of 5/);
  });

  it('reads array indices and escaped names from the JSON pointer', () => {
    const found = schemaProblem({ not: {} }, 1, () => [{ instancePath: '/a~1b/0/c~0d', message: 'broken' }]);
    expect(found).toEqual({ path: ['a/b', 0, 'c~d'], message: 'broken' });
  });

  it('says something even when nobody can tell what is wrong', () => {
    expect(schemaProblem({ not: {} }, 1, () => [])).toEqual({ path: [], message: 'does not match its schema' });
  });
});
