// Offline maps of the options with Leaflet (vendored): no tile server, nothing from the internet.
// The LSC district boundaries (fetched once, cached by the browser) are the only background.
const L = window.L

function escapeHtml (text) {
  const div = document.createElement('div')
  div.textContent = text
  return div.innerHTML
}

function pin (label, kind) {
  return L.divIcon({
    className: `uec-map__pin uec-map__pin--${kind}`,
    html: `<span aria-hidden="true">${escapeHtml(label)}</span>`,
    iconSize: kind === 'caller' ? [44, 28] : [28, 28]
  })
}

function draw (el) {
  const data = JSON.parse(el.dataset.map)
  const map = L.map(el, { keyboard: true, zoomSnap: 0.25, minZoom: 7, maxZoom: 16 })
  map.attributionControl.setPrefix('Leaflet (BSD-2)')
  const points = []
  const routes = L.layerGroup().addTo(map)
  if (data.caller) {
    points.push([data.caller.lat, data.caller.lon])
    L.marker([data.caller.lat, data.caller.lon], {
      icon: pin('Caller', 'caller'), title: `Caller: ${data.caller.label}`, keyboard: true, zIndexOffset: 1000
    }).addTo(map).bindPopup(`<strong>Caller</strong><br>${escapeHtml(data.caller.label)}`)
  }
  for (const o of data.options) {
    points.push([o.lat, o.lon])
    if (o.route.length > 1) {
      L.polyline(o.route, { color: '#005eb8', weight: 4, opacity: 0.85, interactive: false }).addTo(routes)
    }
    const minutes = o.minutes === null || o.minutes === undefined
      ? ''
      : `<br>${Math.round(o.minutes)} min by road${o.team ? ' (team to patient)' : ''}`
    L.marker([o.lat, o.lon], { icon: pin(String(o.n), 'option'), title: `${o.n}. ${o.name}`, keyboard: true })
      .addTo(map).bindPopup(`<strong>${o.n}. ${escapeHtml(o.name)}</strong>${minutes}`)
  }
  if (points.length > 1) map.fitBounds(points, { padding: [32, 32], maxZoom: 13 })
  else map.setView(points[0], 11)
  fetch(el.dataset.boundaries)
    .then((response) => response.json())
    .then((geojson) => {
      L.geoJSON(geojson, {
        interactive: false,
        style: { color: '#4c6272', weight: 1, fillColor: '#f7f9f9', fillOpacity: 1 }
      }).addTo(map).bringToBack()
      map.attributionControl.addAttribution(escapeHtml(geojson.attribution))
      el.dataset.boundariesLoaded = String(geojson.features.length)
    })
    .catch(() => { el.dataset.boundariesLoaded = '0' })
    .finally(() => { el.dataset.ready = 'true' })
}

if (L) document.querySelectorAll('.uec-map__canvas[data-map]').forEach(draw)
