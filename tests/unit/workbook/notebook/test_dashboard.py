"""The dashboard's set-up without a server: Voilà's command line, the warm-up of pooled kernels, a page's
parameters from its query string, the offline template (the served pages: tests/browser)."""

from __future__ import annotations

import ast
import re

import pytest

from energy_lib.workbook import reports
from energy_lib.workbook.notebook import dashboard
from tests.conftest import REPO
from tests.reports.bad_parameters import BAD

NOTEBOOKS = REPO / "notebooks"


def test_voila_listens_on_loopback_with_warm_kernels_culling_and_the_offline_template():
    arguments = dashboard.voila_arguments(NOTEBOOKS, 8999, pool_size=3, cull_idle_s=30)

    assert "--Voila.ip=127.0.0.1" in arguments and "--Voila.port=8999" in arguments
    assert "--Voila.port_retries=0" in arguments
    assert f"--VoilaConfiguration.multi_kernel_manager_class={dashboard.KERNEL_MANAGER}" in arguments
    assert "--WarmKernelManager.pool_size=3" in arguments
    assert "--MappingKernelManager.cull_idle_timeout=30" in arguments
    assert "--MappingKernelManager.cull_interval=30" in arguments  # culling looks at least as often as it culls
    assert "--VoilaConfiguration.template=energy" in arguments
    hidden = {argument.split("=", 1)[1] for argument in arguments if argument.startswith("--ContentsManager.hide")}
    assert "01-check-provisioning.ipynb" in hidden and not hidden & {f"{page}.ipynb" for page in dashboard.PAGES}


def test_the_warm_up_imports_what_the_pages_import_and_leaves_the_namespace_alone():
    pages = [NOTEBOOKS / f"{page}.ipynb" for page in dashboard.PAGES]
    code = dashboard.warm_up_code(pages)
    imported = {node.module for node in ast.walk(ast.parse(code)) if isinstance(node, ast.ImportFrom)}
    assert {"energy_lib.workbook.connect", "energy_lib.workbook.notebook", "energy_lib.workbook.aws"} <= imported

    namespace: dict = {}
    exec(compile(code, "warm-up", "exec"), namespace)  # the pages' imports really import
    assert set(namespace) == {"__builtins__"}


def test_a_page_takes_its_parameters_from_the_query_string_with_the_dashboards_target():
    explorer = NOTEBOOKS / "03-explore-readings.ipynb"
    assert dashboard.page_parameters(explorer, "site_id=SITE_002&start_utc=2025-06-11", "aws") == {
        "site_id": "SITE_002",
        "start_utc": "2025-06-11T00:00:00Z",
        "target": "aws",
    }
    assert dashboard.page_parameters(explorer, "site_id=", "local") == {"site_id": "", "target": "local"}
    with pytest.raises(reports.ParameterError, match="serves target 'local', not 'aws'"):
        dashboard.page_parameters(explorer, "target=aws", "local")


@pytest.mark.parametrize("bad", BAD, ids=lambda bad: f"{bad.kind}-{bad.name}={bad.value}")
def test_a_bad_value_in_a_query_string_gets_the_message_of_the_command_line(bad):
    with pytest.raises(reports.ParameterError) as refused:
        dashboard.page_parameters(NOTEBOOKS / f"{bad.notebook}.ipynb", f"{bad.name}={bad.value}", "local")
    assert str(refused.value) == bad.message


def test_the_template_links_to_no_other_host():
    files = [path for path in dashboard.JUPYTER_DATA.rglob("*") if path.is_file()]
    assert {path.name for path in files} == {"conf.json", "index.html.j2", "page.html"}
    assert not any(re.search(r"(https?:)?//[a-z]", path.read_text()) for path in files)


def test_the_dashboard_s_kernels_get_clients_that_read_every_reply_that_arrived():
    from energy_lib.workbook.notebook.kernel_pool import WarmKernelManager
    from energy_lib.workbook.reports.kernel_client import WatchfulChannel, WatchfulKernelClient

    manager = WarmKernelManager(pool_size=0).kernel_manager_factory(kernel_name="python3")
    client = manager.client()  # what Voilà's executor and the pool's warm-up talk to a kernel with
    assert isinstance(client, WatchfulKernelClient)
    assert {type(client.shell_channel), type(client.iopub_channel)} == {WatchfulChannel}
