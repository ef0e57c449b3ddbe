// Bar charts (later).
