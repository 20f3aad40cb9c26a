// Exports a chat as a file: fetches `/api/chats/{id}/export` with the session's token (one
// refresh on 401) and saves the answer through a Blob and an `<a download>`.
import { errorFromResponse, type ApiClient } from '../api';
import { exportFileName, fileNameFromDisposition, type ExportFormat } from './shares';

type Session = Pick<ApiClient, 'token' | 'refresh'>;

async function fetchExport(api: Session, chatId: string, format: ExportFormat): Promise<Response> {
  const path = `/api/chats/${encodeURIComponent(chatId)}/export?format=${format}`;
  const get = () =>
    fetch(path, { headers: api.token ? { Authorization: `Bearer ${api.token}` } : {}, credentials: 'same-origin' });
  let response = await get();
  if (response.status === 401 && (await api.refresh())) response = await get();
  if (!response.ok) throw await errorFromResponse(response);
  return response;
}

/** Downloads the chat (JSON: the whole tree; Markdown: the branch on screen). */
export async function downloadExport(api: Session, chatId: string, format: ExportFormat, title: string | null): Promise<void> {
  const response = await fetchExport(api, chatId, format);
  const name = fileNameFromDisposition(response.headers.get('Content-Disposition')) ?? exportFileName(title, format);
  const url = URL.createObjectURL(await response.blob());
  try {
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
  } finally {
    // Give the browser a moment to start the download before the URL goes.
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}
