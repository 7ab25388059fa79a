// Marks the page as having JavaScript, as nhsuk-frontend's page template does inline (moved here so the
// Content-Security-Policy allows no inline script). Loaded synchronously at the start of <body>.
document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' nhsuk-frontend-supported' : '');
