"""Small kernel pieces: error codes, UTC timestamps, logging set-up."""

from __future__ import annotations

import json
import logging
from datetime import datetime

import pytest
import structlog

from shared.errors import AppError, ConflictError, NotAuthenticatedError
from shared.logging import configure_logging
from shared.schema.base import UTCDateTime


class TestErrors:
    def test_code_is_the_class_name_without_error(self) -> None:
        assert ConflictError("x").code == "Conflict"

        class Odd(AppError):
            pass

        assert Odd("x").code == "Odd"

    def test_status_can_be_overridden_per_instance(self) -> None:
        error = AppError("x", status_code=418)
        assert error.status_code == 418 and AppError("y").status_code == 500

    def test_401_carries_a_basic_challenge(self) -> None:
        assert NotAuthenticatedError("x").headers["WWW-Authenticate"].startswith("Basic")


class TestUTCDateTime:
    def test_naive_datetimes_are_refused(self) -> None:
        from sqlalchemy.dialects import sqlite

        with pytest.raises(ValueError, match="naive"):
            UTCDateTime().process_bind_param(datetime(2026, 1, 1), sqlite.dialect())


class TestLogging:
    @pytest.fixture(autouse=True)
    def restore(self) -> object:
        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level
        yield
        root.handlers, root.level = handlers, level
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()

    def test_json_lines_carry_service_and_version(self, capsys: pytest.CaptureFixture[str]) -> None:
        configure_logging(service="upload", log_format="json", level="INFO")
        structlog.get_logger().info("file_uploaded", filename="demo-1.0.tar.gz")
        logging.getLogger("uvicorn.error").info("Uvicorn running")
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert lines[0]["event"] == "file_uploaded" and lines[0]["service"] == "upload"
        assert lines[0]["filename"] == "demo-1.0.tar.gz" and "timestamp" in lines[0]
        assert lines[1]["event"] == "Uvicorn running"  # library loggers share the renderer

    def test_level_filters(self, capsys: pytest.CaptureFixture[str]) -> None:
        configure_logging(service="simple", log_format="console", level="WARNING")
        structlog.get_logger().info("quiet")
        structlog.get_logger().warning("loud")
        out = capsys.readouterr().out
        assert "loud" in out and "quiet" not in out

