"""Web chat: the embeddable widget and its REST/WebSocket API."""

from connectors.webchat.connector import WebchatConnector

__all__ = ["WebchatConnector"]
