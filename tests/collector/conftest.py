from tests.collector.live import collector

__all__ = ["collector"]
