import { createRequire } from "node:module";
import type sanitizeModule from "sanitize-html";
import type { UserId } from "./ids.ts";

let sanitizer: typeof sanitizeModule | undefined;

/**
 * The HTML sanitizer, loaded at the first formatted message rather than at start: it brings
 * an HTML and a CSS parser (about 0.1 s), which serve's start does not need.
 */
function sanitize(): typeof sanitizeModule {
  sanitizer ??= createRequire(import.meta.url)("sanitize-html") as typeof sanitizeModule;
  return sanitizer;
}

/**
 * HTML tags and attributes the Matrix spec allows in `formatted_body`. Anything else a customer
 * sends is dropped before it reaches the operators room (it could hide or fake content there).
 */
const ALLOWED_TAGS = [
  "font", "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol", "sup", "sub",
  "li", "b", "i", "u", "strong", "em", "s", "strike", "code", "hr", "br", "div", "table", "thead",
  "tbody", "tr", "th", "td", "caption", "pre", "span", "img", "details", "summary",
];

const ALLOWED_ATTRIBUTES: Readonly<Record<string, string[]>> = {
  font: ["data-mx-bg-color", "data-mx-color", "color"],
  span: ["data-mx-bg-color", "data-mx-color", "data-mx-spoiler", "data-mx-maths"],
  div: ["data-mx-maths"],
  a: ["href", "target"],
  img: ["width", "height", "alt", "title", "src"],
  ol: ["start"],
  code: ["class"],
};

/** Keeps only the spec's allowed tags and attributes; drops reply fallbacks (`mx-reply`) whole. */
export function sanitizeHtml(html: string): string {
  return sanitize()(html, {
    allowedTags: ALLOWED_TAGS,
    allowedAttributes: ALLOWED_ATTRIBUTES,
    allowedSchemes: ["https", "http", "ftp", "mailto", "magnet"],
    allowedSchemesByTag: { img: ["mxc"] },
    nonTextTags: ["style", "script", "textarea", "option", "noscript", "mx-reply"],
    allowedClasses: { code: [/^language-[\w-]+$/] },
  });
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Plain text as HTML, keeping line breaks. */
export function textToHtml(text: string): string {
  return escapeHtml(text).replace(/\n/g, "<br>");
}

const WORD_JOINER = "\u2060";

/**
 * Makes `@room` inert in relayed text, so a customer cannot ping everyone in the operators
 * room through clients that still match on the body. (Relayed events also carry an empty
 * `m.mentions`, which turns off mention rules in current clients and servers.)
 */
export function neutraliseRoomMention(text: string): string {
  return text.replace(/@room\b/gi, (m) => `@${WORD_JOINER}${m.slice(1)}`);
}

/** Removes a reply fallback: leading `> ` lines of the body and the `<mx-reply>` block. */
export function stripReplyFallback(body: string, html: string | undefined): { body: string; html?: string } {
  const lines = body.split("\n");
  let i = 0;
  while (i < lines.length && (lines[i] ?? "").startsWith(">")) i++;
  const strippedBody = i > 0 && i < lines.length ? lines.slice(i).join("\n").replace(/^\n+/, "") : body;
  if (html === undefined) return { body: strippedBody };
  return { body: strippedBody, html: html.replace(/<mx-reply>[\s\S]*?<\/mx-reply>/gi, "") };
}

/** A matrix.to link for a user. */
export function userLink(user: UserId): string {
  return `https://matrix.to/#/${encodeURIComponent(user)}`;
}
