// Puts a draft in the composer once it is on screen and enabled (the chat just opened), as if
// typed: its `input` event updates the composer's own state. Gives up after `timeout` ms.
export async function prefillComposer(text: string, timeout = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const field = document.getElementById('composer-input');
    if (field instanceof HTMLTextAreaElement && !field.disabled) {
      if (!field.value.trim()) {
        field.value = text;
        field.dispatchEvent(new Event('input', { bubbles: true }));
      }
      field.focus();
      field.setSelectionRange(field.value.length, field.value.length);
      return true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
