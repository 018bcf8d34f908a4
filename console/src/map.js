// The region map: municipality boundaries, participant density cells, alert areas and tips, a
// background map when one is configured, and drawing (circle or polygon, moved and reshaped with
// Leaflet-Geoman). Drawn shapes become the API's `AreaShape`.

import L from "./leaflet-global.js";
import "@geoman-io/leaflet-geoman-free";
import "leaflet/dist/leaflet.css";
import "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css";
import { t } from "./i18n.js";

/** A drawn layer as the API's area: a circle with its centre and radius, or a GeoJSON Polygon. */
export function areaOf(layer) {
  if (layer instanceof L.Circle) {
    const center = layer.getLatLng();
    return {
      type: "circle",
      center: { latitude: round(center.lat), longitude: round(center.lng) },
      radius_meters: Math.round(layer.getRadius()),
    };
  }
  const geometry = layer.toGeoJSON(7).geometry;
  return { type: "Polygon", coordinates: geometry.coordinates };
}

const round = (value) => Math.round(value * 1e6) / 1e6;

/** Leaflet layer for an API area (`AreaShape` or a GeoJSON geometry). */
function layerOfArea(area, style) {
  if (area.type === "circle") {
    return L.circle([area.center.latitude, area.center.longitude], { radius: area.radius_meters, ...style });
  }
  return L.geoJSON(area, { style: () => style });
}

const DRAWN_STYLE = { color: "#b3261e", weight: 3, fillOpacity: 0.15 };
const ALERT_STYLE = { color: "#0b57d0", weight: 2, fillOpacity: 0.08, dashArray: "6 4" };

export class ConsoleMap {
  constructor(element, tiles) {
    this.map = L.map(element, { zoomControl: true, keyboard: true, preferCanvas: false });
    this.map.attributionControl.setPrefix(false);
    if (tiles) {
      L.tileLayer(tiles.url, { maxZoom: 19, attribution: tiles.attribution }).addTo(this.map);
    }
    this.boundaries = L.layerGroup().addTo(this.map);
    this.density = L.layerGroup().addTo(this.map);
    this.alerts = L.layerGroup().addTo(this.map);
    this.tips = L.layerGroup().addTo(this.map);
    this.drawn = null;
    this.onArea = () => {};
    this.map.pm.setGlobalOptions({ allowSelfIntersection: false, pathOptions: DRAWN_STYLE, templineStyle: DRAWN_STYLE });
    this.map.pm.setLang(document.documentElement.lang === "en" ? "en" : "nl");
    this.map.on("pm:create", ({ layer }) => this.adopt(layer));
    this.map.setView([52.1, 5.3], 8);
  }

  /** Shows the region: boundaries, density cells and its active alerts; fits the view to it. */
  showRegion(regionMap) {
    this.boundaries.clearLayers();
    L.geoJSON(regionMap.municipalities, {
      style: () => ({ color: "#3c4043", weight: 1.5, fill: false }),
      onEachFeature: (feature, layer) => layer.bindTooltip(feature.properties.name, { sticky: true }),
      pmIgnore: true,
    }).addTo(this.boundaries);
    this.density.clearLayers();
    const cells = regionMap.density?.cells ?? [];
    const most = Math.max(1, ...cells.map((cell) => cell.participants));
    for (const cell of cells) {
      const [minLon, minLat, maxLon, maxLat] = cell.bounds;
      L.rectangle(
        [
          [minLat, minLon],
          [maxLat, maxLon],
        ],
        { stroke: false, fillColor: "#e37400", fillOpacity: 0.15 + 0.5 * (cell.participants / most), pmIgnore: true, interactive: true },
      )
        .bindTooltip(`${cell.participants}`)
        .addTo(this.density);
    }
    this.showAlerts(regionMap.active_alerts ?? []);
    if (!regionMap.bounds) return;
    const [minLon, minLat, maxLon, maxLat] = regionMap.bounds;
    this.map.fitBounds([
      [minLat, minLon],
      [maxLat, maxLon],
    ]);
  }

  showAlerts(alerts) {
    this.alerts.clearLayers();
    for (const alert of alerts) {
      const layer = layerOfArea(alert.area, ALERT_STYLE);
      layer.options.pmIgnore = true;
      layer.addTo(this.alerts);
    }
  }

  /** One alert's area, the view fitted to it. */
  showAlertArea(area) {
    this.alerts.clearLayers();
    const layer = layerOfArea(area, ALERT_STYLE).addTo(this.alerts);
    this.map.fitBounds(layer.getBounds(), { padding: [30, 30] });
  }

  showTips(tips, onSelect) {
    this.tips.clearLayers();
    for (const tip of tips) {
      if (!tip.location) continue;
      L.circleMarker([tip.location.latitude, tip.location.longitude], {
        radius: 8,
        color: "#1e8e3e",
        fillOpacity: 0.8,
        pmIgnore: true,
      })
        .bindTooltip(tip.text.slice(0, 80))
        .on("click", () => onSelect?.(tip))
        .addTo(this.tips);
    }
  }

  /** Drawing: one shape at a time; `onArea(area|null)` on every change. */
  enableDrawing(onArea) {
    this.onArea = onArea;
    this.map.pm.addControls({
      position: "topleft",
      drawMarker: false,
      drawCircleMarker: false,
      drawPolyline: false,
      drawRectangle: true,
      drawPolygon: true,
      drawCircle: true,
      drawText: false,
      editMode: true,
      dragMode: true,
      cutPolygon: false,
      removalMode: true,
      rotateMode: false,
    });
    // Geoman names its buttons only in a tooltip on their container; screen readers need the name
    // on the button itself.
    for (const container of this.map.getContainer().querySelectorAll(".leaflet-pm-toolbar .button-container")) {
      const button = container.querySelector(".leaflet-buttons-control-button");
      if (button && container.title) button.setAttribute("aria-label", container.title);
    }
  }

  disableDrawing() {
    this.map.pm.removeControls();
    this.map.pm.disableDraw();
    this.clearDrawn();
    this.onArea = () => {};
  }

  startDrawing(shape) {
    this.map.pm.enableDraw(shape);
  }

  adopt(layer) {
    if (this.drawn && this.drawn !== layer) this.drawn.remove();
    this.drawn = layer;
    const changed = () => this.onArea(areaOf(layer));
    layer.on("pm:edit pm:dragend pm:markerdragend pm:change", changed);
    layer.on("pm:remove", () => {
      if (this.drawn === layer) this.drawn = null;
      this.onArea(null);
    });
    changed();
  }

  /** Puts an area (from a draft or the coordinate form) on the map as the drawn shape. */
  drawArea(area) {
    if (!area) return this.clearDrawn();
    let layer;
    if (area.type === "circle") {
      layer = L.circle([area.center.latitude, area.center.longitude], { radius: area.radius_meters, ...DRAWN_STYLE });
    } else {
      const ring = area.coordinates[0].map(([lon, lat]) => [lat, lon]);
      layer = L.polygon(ring.slice(0, -1), DRAWN_STYLE);
    }
    layer.addTo(this.map);
    this.adopt(layer);
    this.map.fitBounds(layer.getBounds(), { padding: [40, 40], maxZoom: 15 });
  }

  clearDrawn() {
    if (this.drawn) this.drawn.remove();
    this.drawn = null;
  }

  invalidate() {
    this.map.invalidateSize();
  }

  destroy() {
    this.map.remove();
  }
}

export function areaSummary(area) {
  if (!area) return t("area_none");
  if (area.type === "circle") return t("area_circle", { radius: area.radius_meters });
  return t("area_polygon", { points: area.coordinates[0].length - 1 });
}
