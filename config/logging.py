"""Structured logging with structlog on top of the standard library.

`LOG_FORMAT=console` (the default with DJANGO_DEBUG on) prints readable lines for `make run`;
`json` prints one JSON object per line for log shippers. Bound context variables
(`structlog.contextvars.bind_contextvars`) appear in every line of the request or event.
"""

import logging

import structlog

_SHARED_PROCESSORS: list[structlog.typing.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def formatter(fmt: str = "console") -> logging.Formatter:
    """The formatter of every handler; also configures structlog's own loggers once."""
    if not structlog.is_configured():
        structlog.configure(
            processors=[
                *_SHARED_PROCESSORS,
                structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
            ],
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=structlog.stdlib.BoundLogger,
            cache_logger_on_first_use=True,
        )
    renderer: structlog.typing.Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
        extra: list[structlog.typing.Processor] = [structlog.processors.format_exc_info]
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
        extra = []
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED_PROCESSORS,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *extra,
            renderer,
        ],
    )
