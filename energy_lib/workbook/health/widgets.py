"""The site registry as a widget: the table of sites, and a form that edits one (or adds one) and saves it.

Like the workbook's other widgets (:mod:`energy_lib.workbook.notebook.widgets`), it draws at once and carries a
static HTML copy of the table, which is what an exported report (papermill, nbconvert) shows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as w

from energy_lib.workbook.health import views
from energy_lib.workbook.notebook import views as notebook_views
from energy_lib.workbook.sites import registry
from energy_lib.workbook.sites.registry import FIELDS, RegisteredSite, RegistryError

NEW_SITE = "(new site)"
LABELS = {
    "site_id": "Site id",
    "name": "Name",
    "latitude": "Latitude [°]",
    "longitude": "Longitude [°]",
    "timezone": "Time zone",
    "site_type": "Type",
    "capacity_kw": "Capacity [kW]",
    "interval_minutes": "Interval [min]",
    "reporting_hours": "Reporting hours",
    "tilt_deg": "Tilt [°]",
    "azimuth_deg": "Azimuth [°]",
    "dc_ac_ratio": "DC/AC ratio",
    "commissioned_on": "Commissioned",
}


class RegistryEditor(w.VBox):
    """Pick a site (or ``(new site)``), edit its fields, save: the values are validated as on import and the
    table redraws. Attributes: ``site`` (Dropdown), ``fields`` (field name -> Text or Dropdown), ``save``
    (Button), ``message`` (HTML), ``table`` (HTML), ``rows`` (the listing on screen)."""

    def __init__(self, load: Callable[[], list[dict[str, Any]]], store: Callable[[Sequence[RegisteredSite]], int]):
        self._load, self._store = load, store
        self.rows: list[dict[str, Any]] = []
        self.site = w.Dropdown(description="Site", layout=w.Layout(width="24em"))
        self.fields: dict[str, w.ValueWidget] = {
            name: (
                w.Dropdown(options=registry.REPORTING_HOURS, description=LABELS[name])
                if name == "reporting_hours"
                else w.Text(description=LABELS[name])
            )
            for name in FIELDS
        }
        for field in self.fields.values():
            field.style = {"description_width": "9em"}
        self.save = w.Button(description="Save site", icon="save", button_style="primary")
        self.message = w.HTML()
        self.table = w.HTML()
        form = w.GridBox(list(self.fields.values()), layout=w.Layout(grid_template_columns="repeat(3, 1fr)"))
        super().__init__([self.site, form, w.HBox([self.save, self.message]), self.table])
        self.refresh()
        self.site.observe(self._on_pick, names="value")
        self.save.on_click(self._on_save)

    def refresh(self, pick: str | None = None) -> None:
        """Reload the listing, redraw the table, and show ``pick`` (default: the first site) in the form."""
        self.rows = self._load()
        self.table.value = _html(views.registry_table(self.rows))
        options = [row["site_id"] for row in self.rows] + [NEW_SITE]
        self.site.options = options
        self.site.value = pick if pick in options else options[0]
        self._fill(self.site.value)

    def _fill(self, site_id: str) -> None:
        row = next((row for row in self.rows if row["site_id"] == site_id), {})
        for name, field in self.fields.items():
            value = row.get(name)
            if name == "reporting_hours":
                field.value = value or registry.ALL_DAY
            else:
                field.value = "" if value is None else str(value)
        self.fields["site_id"].disabled = site_id != NEW_SITE

    def _on_pick(self, change: dict[str, Any]) -> None:
        self._fill(change["new"])
        self.message.value = ""

    def save_site(self) -> RegisteredSite:
        """Validate the form and store the site; RegistryError (field and problem) when a value is wrong."""
        site = registry.site_from_fields({name: field.value for name, field in self.fields.items()}, "form")
        self._store([site])
        self.refresh(site.site_id)
        self.message.value = notebook_views.message(f"Saved {site.site_id}.").html
        return site

    def _on_save(self, _button: w.Button) -> None:
        try:
            self.save_site()
        except RegistryError as error:
            self.message.value = notebook_views.message(str(error), "error").html
        except Exception as error:
            self.message.value = notebook_views.message(f"Saving failed: {error!r}", "error").html

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            bundle["text/html"] = self.table.value
        return bundle


def _html(shown: Any) -> str:
    return shown.to_html() if hasattr(shown, "to_html") else shown.html


def registry_editor(
    load: Callable[[], list[dict[str, Any]]], store: Callable[[Sequence[RegisteredSite]], int]
) -> RegistryEditor:
    """The registry editor.

    Parameters
    ----------
    load : callable ``() -> list of dict``
        The listing (e.g. ``partial(registry.listing, settings, dynamodb)``); called again after each save.
    store : callable ``(sites) -> int``
        Stores sites (e.g. ``partial(registry.put_sites, settings, dynamodb)``).
    """
    return RegistryEditor(load, store)
