// Getting files in: a drop zone (drag and drop anywhere on the page, highlighted over the
// zone), a file picker, and keyboard access to the picker.

/** Whether a file looks like audio (its type, else its extension): what a picked folder keeps. */
export function isAudioFile(file) {
  return /^audio\//.test(file.type) || /\.(wav|mp3|flac|ogg|oga|opus|m4a|mp4|aac|aif|aiff|aifc|au|snd|caf|webm|mka)$/i.test(file.name);
}

/**
 * The audio files of a picked folder (files with `webkitRelativePath`), in the order given:
 * hidden files and those in hidden folders are left out, as is anything that is not audio.
 */
export function folderAudioFiles(files) {
  return [...files].filter((f) => isAudioFile(f) && !(f.webkitRelativePath || f.name).split('/').some((p) => p.startsWith('.')));
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
