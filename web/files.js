// Files from a drop (folders walked recursively), a file picker or a folder picker, each
// with its path relative to what was dropped ("emoji/images/a.png").

const IMAGE = /\.(png|jpe?g|jpe|webp|gif|bmp)$/i;

export const isImageName = (name) => IMAGE.test(name);

/** [{file, path}] of a file input (a folder picker gives webkitRelativePath). */
export function fromInput(input) {
  return [...input.files].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
}

/** [{file, path}] of a drop event, walking dropped folders. */
export async function fromDrop(event) {
  const entries = [...event.dataTransfer.items]
    .map((item) => (item.webkitGetAsEntry ? item.webkitGetAsEntry() : null))
    .filter(Boolean);
  if (!entries.length) return [...event.dataTransfer.files].map((file) => ({ file, path: file.name }));
  const out = [];
  async function walk(entry) {
    if (entry.isFile) {
      const file = await new Promise((ok, fail) => entry.file(ok, fail));
      out.push({ file, path: entry.fullPath.replace(/^\//, "") });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((ok, fail) => reader.readEntries(ok, fail));
        if (!batch.length) break;
        for (const e of batch) await walk(e);
      }
    }
  }
  for (const e of entries) await walk(e);
  return out;
}

/**
 * Which file each CSV row names: a CSV path matches a file whose relative path is the same or
 * ends with "/" + it (a dropped folder's name comes first). Returns an array of indexes into
 * `files` (or -1), one per CSV path.
 */
export function matchRows(csvPaths, files) {
  const bySuffix = new Map();
  files.forEach(({ path }, i) => {
    const parts = path.split("/");
    for (let s = 0; s < parts.length; s++) {
      const key = parts.slice(s).join("/");
      if (!bySuffix.has(key)) bySuffix.set(key, i);
    }
  });
  return csvPaths.map((p) => bySuffix.get(p.replace(/^\.\//, "")) ?? -1);
}
