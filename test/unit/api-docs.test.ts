// Every exported function, class, interface, type and constant in src/ and workers/, and
// every public method of an exported class, carries a doc comment (/** … */): the public API
// says what it takes, in which units, and what it throws. Read with the TypeScript compiler
// itself, so a declaration cannot slip past a pattern.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function hasDoc(node: ts.Node, text: string): boolean {
  const ranges = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
  return ranges.some((range) => text.slice(range.pos, range.pos + 3) === '/**');
}

function isExported(node: ts.Node): boolean {
  const modifiers = ts.canHaveModifiers(node) ? ts.getModifiers(node) : undefined;
  return modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) ?? false;
}

function isPublicMember(member: ts.ClassElement): boolean {
  const modifiers = ts.canHaveModifiers(member) ? ts.getModifiers(member) : undefined;
  if (modifiers?.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword)) return false;
  if (member.name !== undefined && ts.isPrivateIdentifier(member.name)) return false;
  return ts.isMethodDeclaration(member) || ts.isGetAccessorDeclaration(member);
}

/** `file:line name` of every exported declaration (and public method) without a doc comment. */
function undocumented(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const where = (node: ts.Node, name: string) =>
    `${relative(ROOT, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1} ${name}`;
  const missing: string[] = [];
  for (const statement of source.statements) {
    if (!isExported(statement)) continue;
    let name = '(default)';
    if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) || ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement) || ts.isEnumDeclaration(statement)) && statement.name) {
      name = statement.name.text;
    } else if (ts.isVariableStatement(statement)) {
      name = statement.declarationList.declarations.map((d) => d.name.getText(source)).join(', ');
    }
    if (!hasDoc(statement, text)) missing.push(where(statement, name));
    if (ts.isClassDeclaration(statement)) {
      for (const member of statement.members) {
        if (!isPublicMember(member) || member.name === undefined) continue;
        if (!hasDoc(member, text)) missing.push(where(member, `${name}.${member.name.getText(source)}`));
      }
    }
  }
  return missing;
}

describe('the public API', () => {
  it('has a doc comment on every exported declaration and public method in src/ and workers/', () => {
    const files = [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'workers'))];
    expect(files.length).toBeGreaterThan(50);
    const missing = files.flatMap(undocumented);
    expect(missing, `undocumented:\n${missing.join('\n')}`).toEqual([]);
  });
});
