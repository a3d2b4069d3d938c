// The narrative sections as a flat list of editable items, and back to the report's nested blocks.
//
// An item is {kind, depth, heading, text}: kind "p" (a body paragraph), "h" (a heading on its own line,
// followed by the items below it) or "r" (a run-in heading: heading and text in one paragraph); depth 1 is
// the first level below the section heading (（一）), 2 the next (1.), 3 the next (（1）).

const NUMERALS = "一二三四五六七八九十";

export function chineseNumeral(n) {
  if (n < 1 || n > 99) return String(n);
  const tens = Math.floor(n / 10), ones = n % 10;
  const head = tens === 0 ? "" : (tens === 1 ? "十" : NUMERALS[tens - 1] + "十");
  return head + (ones ? NUMERALS[ones - 1] : "");
}

// The number the renderer gives the n-th heading at a level (patterns from the format: "{cn}、", "（{cn}）", …).
export function numberFor(patterns, level, n) {
  return patterns[level - 1].replace("{cn}", chineseNumeral(n)).replace("{n}", String(n));
}

// Items → blocks, with the JSON path of every item (for placing problems) and its printed number.
export function toBlocks(items, sectionKey, patterns) {
  const root = [];
  const stack = [{ depth: 0, body: root, path: sectionKey, count: 0 }];
  const placed = [];
  for (const item of items) {
    if (item.kind === "p") {
      const top = stack[stack.length - 1];
      top.body.push(item.text);
      placed.push({ path: `${top.path}[${top.body.length - 1}]`, number: "", level: top.depth });
      continue;
    }
    while (stack.length > 1 && stack[stack.length - 1].depth >= item.depth) stack.pop();
    const top = stack[stack.length - 1];
    const depth = top.depth + 1;  // a heading two levels deeper than its parent prints one level deeper
    item.depth = depth;
    top.count += 1;
    const number = numberFor(patterns, depth + 1, top.count);
    const path = `${top.path}[${top.body.length}]`;
    if (item.kind === "r") {
      top.body.push({ heading: item.heading, text: item.text });
    } else {
      const node = { heading: item.heading, body: [] };
      top.body.push(node);
      stack.push({ depth, body: node.body, path: `${path}.body`, count: 0 });
    }
    const shown = item.heading.startsWith(number) ? "" : number;
    placed.push({ path, number: shown, level: depth });
  }
  return { blocks: root, placed };
}

// Blocks → items (anything that is not a block is kept as a paragraph of its JSON text, for the checker).
export function fromBlocks(blocks, depth = 1, out = []) {
  if (!Array.isArray(blocks)) return out;
  for (const block of blocks) {
    if (typeof block === "string") {
      out.push({ kind: "p", depth, heading: "", text: block });
    } else if (block && typeof block === "object" && typeof block.heading === "string") {
      if (Array.isArray(block.body)) {
        out.push({ kind: "h", depth, heading: block.heading, text: "" });
        fromBlocks(block.body, depth + 1, out);
      } else {
        out.push({ kind: "r", depth, heading: block.heading, text: typeof block.text === "string" ? block.text : "" });
      }
    }
  }
  return out;
}
