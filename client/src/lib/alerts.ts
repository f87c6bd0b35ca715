// Acknowledging an alert from any page: the server changes its state, and the change comes back to
// every wall as alert.updated.v1. Returns an error message to show, or null.
import { ApiError, postJson } from './api.ts'
import type { Alert } from '../../../pipelines/schema.ts'

export async function acknowledge(alert: Alert): Promise<{ alert: Alert } | { error: string }> {
  try {
    return await postJson<{ alert: Alert }>(`/api/alerts/${encodeURIComponent(alert.id)}/acknowledge`)
  } catch (error) {
    return { error: error instanceof ApiError ? error.message : String(error) }
  }
}
