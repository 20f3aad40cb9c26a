// Exports a chat as a file: `/api/chats/{id}/export` with the session's token (one refresh on
// 401), saved under the server's file name.
import type { ApiClient } from '../api';
import { saveBlob } from '../ui/saveFile';
import { exportFileName, fileNameFromDisposition, type ExportFormat } from './shares';

/** Downloads the chat (JSON: the whole tree; Markdown: the branch on screen). */
export async function downloadExport(
  api: Pick<ApiClient, 'response'>,
  chatId: string,
  format: ExportFormat,
  title: string | null,
): Promise<void> {
  const response = await api.response('GET', `/api/chats/${encodeURIComponent(chatId)}/export?format=${format}`);
  const name = fileNameFromDisposition(response.headers.get('Content-Disposition')) ?? exportFileName(title, format);
  saveBlob(await response.blob(), name);
}
