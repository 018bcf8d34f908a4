// The map as a Preact component: one Leaflet map for the component's life.

import { useEffect, useRef } from "preact/hooks";
import { ConsoleMap } from "../map.js";
import { t } from "../i18n.js";

export function RegionMap({ tiles, onReady }) {
  const element = useRef(null);
  useEffect(() => {
    const map = new ConsoleMap(element.current, tiles);
    onReady(map);
    return () => map.destroy();
  }, []);
  return (
    <div class="map-wrap">
      <div ref={element} class="map" role="region" aria-label={t("map_label")} />
      {!tiles && <p class="map-note">{t("no_background_map")}</p>}
    </div>
  );
}
