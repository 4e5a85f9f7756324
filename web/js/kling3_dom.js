// The two DOM helpers every part of the extension that draws HTML uses (node panel, settings
// entries, the Spending tab, the Prompt List's line).

/** A new element with an optional class and text (null or undefined: no text). */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

const added = new Set();

/** Add a <style> with `css` to the page once per `key` (no-op outside a page). */
export function addStyleOnce(key, css) {
  if (added.has(key) || typeof document === "undefined") return;
  const style = document.createElement("style");
  style.textContent = css;
  document.head.appendChild(style);
  added.add(key);
}
