"""The FastAPI app: gateway intake, agent desktops over websockets, ops and read endpoints."""
