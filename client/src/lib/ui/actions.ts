// Svelte actions shared by components.

/**
 * Esc anywhere inside `node` calls `close` (for panels and popovers: a section or form is not an
 * interactive element, so this is an action rather than an `onkeydown` attribute). An Esc some
 * inner control already handled is left alone.
 */
export function escapeCloses(node: HTMLElement, close: () => void) {
  let onClose = close;
  const keydown = (event: KeyboardEvent) => {
    if (event.key === 'Escape' && !event.defaultPrevented) {
      event.preventDefault();
      event.stopPropagation();
      onClose();
    }
  };
  node.addEventListener('keydown', keydown);
  return {
    update: (next: () => void) => (onClose = next),
    destroy: () => node.removeEventListener('keydown', keydown),
  };
}
