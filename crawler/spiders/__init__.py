"""Spiders: one generic AdapterSpider that fetches what a platform adapter asks for."""

from crawler.spiders.adapter import AdapterSpider

__all__ = ["AdapterSpider"]
