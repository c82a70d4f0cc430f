// Getting files in: a drop zone (drag and drop anywhere on the page, highlighted over the
// zone), a file picker, and keyboard access to the picker.

/** Whether a file looks like audio (its type, else its extension): what a picked folder keeps. */
export function isAudioFile(file) {
  return /^audio\//.test(file.type) || /\.(wav|mp3|flac|ogg|oga|opus|m4a|mp4|aac|aif|aiff|aifc|au|snd|caf|webm|mka)$/i.test(file.name);
}

/** Whether the first bytes of a file are those of an audio container the decoders read. */
export function looksLikeAudio(head) {
  const ascii = (at, text) => [...text].every((c, i) => head[at + i] === c.charCodeAt(0));
  return (
    (ascii(0, 'RIFF') && ascii(8, 'WAVE')) ||
    (ascii(0, 'FORM') && (ascii(8, 'AIFF') || ascii(8, 'AIFC'))) ||
    ascii(0, 'fLaC') || ascii(0, 'OggS') || ascii(0, 'ID3') || ascii(0, '.snd') || ascii(0, 'caff') ||
    ascii(4, 'ftyp') ||
    (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) || // Matroska/WebM
    (head[0] === 0xff && (head[1] & 0xe0) === 0xe0 && (head[1] & 0x06) !== 0) || // an MPEG audio frame
    (head[0] === 0xff && (head[1] & 0xf6) === 0xf0) // an ADTS (AAC) frame
  );
}

/** Whether a file is audio: by its type or extension, else by its first bytes. */
export async function isAudio(file) {
  if (isAudioFile(file)) return true;
  if (file.size < 12) return false;
  return looksLikeAudio(new Uint8Array(await file.slice(0, 12).arrayBuffer()));
}

const hidden = (path) => path.split('/').some((p) => p.startsWith('.'));

/**
 * The audio files of a folder picked with the directory <input> (files with
 * `webkitRelativePath`) as `{file, path}`, in path order: hidden files and those in hidden
 * folders are left out, as is anything that is not audio (by extension, else by content).
 */
export async function folderAudioFiles(files) {
  const kept = [];
  for (const file of files) {
    const path = file.webkitRelativePath || file.name;
    if (!hidden(path) && (await isAudio(file).catch(() => false))) kept.push({ file, path });
  }
  return kept.sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * The audio files below a folder opened with the File System Access API (`root`, a
 * FileSystemDirectoryHandle) as `{file, path, handle}` (the file's handle, for writing its
 * tags), in path order, paths starting with the folder's name as the directory <input>'s do.
 */
export async function directoryAudioFiles(root) {
  const kept = [];
  async function walk(dir, prefix) {
    for await (const [name, handle] of dir.entries()) {
      if (name.startsWith('.')) continue;
      const path = `${prefix}/${name}`;
      if (handle.kind === 'directory') await walk(handle, path);
      else {
        const file = await handle.getFile().catch(() => null);
        if (file && (await isAudio(file).catch(() => false))) kept.push({ file, path, handle });
      }
    }
  }
  await walk(root, root.name);
  return kept.sort((a, b) => a.path.localeCompare(b.path));
}

/** Whether this browser can open a folder for writing (File System Access API). */
export function canOpenFolders() {
  return typeof globalThis.showDirectoryPicker === 'function';
}

/** The file handle at `path` (as `directoryAudioFiles` gives it) below `root`. */
export async function fileHandleAt(root, path) {
  const parts = path.split('/').slice(1);
  let dir = root;
  for (const part of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(part);
  return dir.getFileHandle(parts.at(-1));
}

/** Calls `onFiles(File[])` for files dropped on the page or picked with `input`. */
export function attachDrop({ zone, input, onFiles }) {
  let depth = 0;
  const hasFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes('Files');
  const highlight = (on) => zone.classList.toggle('dragging', on);

  // Dropping a file anywhere must not navigate away from the page.
  window.addEventListener('dragover', (e) => {
    if (hasFiles(e)) {
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    }
  });
  window.addEventListener('dragenter', (e) => {
    if (hasFiles(e)) {
      depth++;
      highlight(true);
    }
  });
  window.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (!depth) highlight(false);
  });
  window.addEventListener('drop', (e) => {
    depth = 0;
    highlight(false);
    // A drop another target took (a category of "Your own genres") is not for the list.
    if (e.defaultPrevented || !e.dataTransfer?.files?.length) return;
    e.preventDefault();
    onFiles([...e.dataTransfer.files]);
  });

  input.addEventListener('change', () => {
    if (input.files.length) onFiles([...input.files]);
    input.value = '';
  });
  zone.addEventListener('keydown', (e) => {
    if (e.target === zone && (e.key === 'Enter' || e.key === ' ')) {
      e.preventDefault();
      input.click();
    }
  });
}
