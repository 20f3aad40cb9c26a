// `confab:chats-changed`: a window event saying that many chats may have changed at once (an
// import finished), more than their live events tell. The sidebar reloads its chat list and
// folders when it hears it (lib/folders/organiser.ts).
export const CHATS_CHANGED = 'confab:chats-changed';

/** Says that the chats changed (default target: the window). */
export function announceChatsChanged(target: EventTarget = window): void {
  target.dispatchEvent(new CustomEvent(CHATS_CHANGED));
}

/** Calls `listener` each time the chats changed, until the returned function is called. */
export function onChatsChanged(listener: () => void, target: EventTarget = window): () => void {
  const handler = () => listener();
  target.addEventListener(CHATS_CHANGED, handler);
  return () => target.removeEventListener(CHATS_CHANGED, handler);
}
