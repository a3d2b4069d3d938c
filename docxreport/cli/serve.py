"""``serve``: the HTTP service."""

from __future__ import annotations

import click

from .base import CONTEXT, _fail, main


@main.command(context_settings=CONTEXT)
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址；0.0.0.0 为所有网络接口（对外开放前请设置 DOCXREPORT_API_KEY）。")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="监听端口。")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="工作进程数；每个进程各自限制并发数。")
def serve(host: str, port: int, workers: int) -> None:
    """以 HTTP 服务提供生成、校验和读取报告（供 OA 系统调用），并在 / 提供填报页面，需要安装 docxreport[server]。

    \b
    填报页面：浏览器打开 http://地址:端口/ 即可填写三张表和六部分正文、边填边检查，
    下载 Word、PDF、网页，保存数据（JSON 或 Excel 工作簿）；草稿自动保存在浏览器中。
    页面所用的脚本、样式全部由本服务提供，不访问外部网站。设置 DOCXREPORT_API_KEY 后，
    页面第一次使用时询问一次密钥（只保存在该浏览器标签页中），之后随每个请求发送。
    一人在本机填报并直接保存到文件，请用 docxreport edit。

    \b
    接口：POST /v1/render（?format=pdf、html、xlsx）、/v1/validate、/v1/extract；GET /v1/schema、/healthz；
    接口说明（OpenAPI）：/openapi.json，浏览器中查看：/docs（不从外部网站加载任何内容）。
    每个请求在独立的工作进程中处理，超过时限即终止该进程；生成 PDF 时每个工作进程保持一个 LibreOffice 常驻。
    其余设置用环境变量：DOCXREPORT_API_KEY（API 密钥；设置后除 /healthz 和填报页面本身外的所有地址
    都需要密钥，包括 /openapi.json 和 /docs）、DOCXREPORT_CORS_ORIGINS（允许跨域的来源，逗号分隔）、
    DOCXREPORT_MAX_BODY_BYTES、DOCXREPORT_MAX_CONCURRENCY（工作进程数）、DOCXREPORT_MAX_QUEUE、
    DOCXREPORT_TIME_LIMIT、DOCXREPORT_PDF_TIME_LIMIT、DOCXREPORT_RETRY_AFTER、
    DOCXREPORT_HEADER_TIMEOUT（请求头须在几秒内收完）、DOCXREPORT_MAX_CONNECTIONS（每个进程的连接上限）。

    \b
    示例：
      docxreport serve
      DOCXREPORT_API_KEY=密钥 docxreport serve --host 0.0.0.0 --port 8080 --workers 4
    """
    from ..web.service import Settings, SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        _fail(str(exc))
    try:
        from ..web import server
    except ImportError as exc:
        _fail(f"HTTP 服务需要可选依赖（缺少 {exc.name or exc}）：请执行 pip install \"docxreport[server]\"")
    server.serve(settings, host, port, workers)
