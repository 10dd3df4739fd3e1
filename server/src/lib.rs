//! vod-server (placeholder; being written)
