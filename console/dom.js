/**
 * Builds DOM nodes. Text is only ever set with text nodes and attributes with
 * setAttribute, never parsed as markup: lease fields, subjects and reasons are
 * attacker-influenced and must show as the characters they are.
 */

/** Attribute names a view may set; `on*` handlers and `style` never (the CSP forbids them anyway). */
const SAFE_ATTRIBUTE =
  /^(class|id|href|type|name|value|placeholder|title|for|role|hidden|disabled|required|checked|rows|colspan|method|min|max|autocomplete|spellcheck|data-[a-z-]+|aria-[a-z-]+)$/;

/**
 * `el('button', { class: 'danger', onclick: fn }, 'Revoke')`. Functions in `props` become
 * event listeners; children are nodes or strings (made text nodes); null and false are skipped.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2), value);
    } else if (SAFE_ATTRIBUTE.test(key)) {
      if (key === 'href' && !String(value).startsWith('#'))
        throw new Error('links stay in the console');
      node.setAttribute(key, value === true ? '' : String(value));
    } else {
      throw new Error(`attribute ${key} is not allowed`);
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(
      typeof child === 'string' || typeof child === 'number'
        ? document.createTextNode(String(child))
        : child,
    );
  }
}

/** Replaces a node's children. */
export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element with numeric or plain attributes (no markup). */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  for (const child of children)
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  return node;
}

/** A table: `columns` are header labels; `rows` arrays of cells (strings or nodes). */
export function table(columns, rows, options = {}) {
  return el(
    'table',
    { class: options.class ?? 'grid', 'data-testid': options.testid },
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        columns.map((c) => el('th', {}, c)),
      ),
    ),
    el(
      'tbody',
      {},
      rows.length === 0
        ? el(
            'tr',
            {},
            el(
              'td',
              { class: 'empty', colspan: String(columns.length) },
              options.empty ?? 'Nothing here.',
            ),
          )
        : rows.map((row) =>
            row instanceof Node
              ? row
              : el(
                  'tr',
                  {},
                  row.map((cell) => el('td', {}, cell)),
                ),
          ),
    ),
  );
}
