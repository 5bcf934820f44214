"""Persistence of the 本人確認情報ファイル behind one small interface (interface.py)."""
