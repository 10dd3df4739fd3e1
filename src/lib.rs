//! vod-ugc-uploader protocol core (being written)
