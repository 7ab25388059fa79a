// Keyboard-first question pages: Y/N (or number keys) choose an answer, Enter continues,
// Alt+B goes back. Keys typed into text fields are left alone.
const form = document.getElementById('question-form')

function typing (target) {
  return target instanceof HTMLElement &&
    (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName)) &&
    !(target instanceof HTMLInputElement && ['radio', 'checkbox'].includes(target.type))
}

if (form) {
  const radios = Array.from(form.querySelectorAll('input[type=radio][name=answer]'))
  const continueButton = document.getElementById('continue')
  const backButton = document.getElementById('back')
  const focusTarget = form.querySelector('input[name=answer]:checked') || form.querySelector('[autofocus]')
  if (focusTarget && !document.querySelector('.nhsuk-error-summary')) focusTarget.focus()

  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey) return
    if (event.altKey) {
      if (event.key.toLowerCase() === 'b' && backButton) {
        event.preventDefault()
        form.requestSubmit(backButton)
      }
      return
    }
    if (event.key === 'Enter') {
      if (event.target instanceof HTMLButtonElement || event.target instanceof HTMLAnchorElement) return
      event.preventDefault()
      form.requestSubmit(continueButton)
      return
    }
    if (typing(event.target) || event.key.length !== 1) return
    const radio = radios.find((r) => r.dataset.key === event.key.toLowerCase())
    if (radio) {
      event.preventDefault()
      radio.checked = true
      radio.focus()
      radio.dispatchEvent(new Event('change', { bubbles: true }))
    }
  })
}

// The call timer: time since the call started, m:ss, every second.
const timer = document.getElementById('call-timer')
if (timer) {
  const started = Number(timer.dataset.started)
  const value = timer.querySelector('.uec-call-timer__value')
  const tick = () => {
    const s = Math.max(0, Math.floor((Date.now() - started) / 1000))
    const h = Math.floor(s / 3600)
    const m = Math.floor((s % 3600) / 60)
    const ss = String(s % 60).padStart(2, '0')
    value.textContent = h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
  }
  tick()
  setInterval(tick, 1000)
}

// The call summary: choosing a service puts it in the summary at once; copy and print buttons.
const summary = document.getElementById('summary-text')
if (summary) {
  const chosen = document.getElementById('summary-chosen')
  const status = document.getElementById('summary-status')
  document.querySelectorAll('input[name=chosen_service]').forEach((radio) => {
    radio.addEventListener('change', () => {
      const row = radio.closest('tr')
      if (radio.checked && row) chosen.textContent = row.dataset.summary
    })
  })
  const copy = document.getElementById('summary-copy')
  const print = document.getElementById('summary-print')
  copy.hidden = false
  print.hidden = false
  copy.addEventListener('click', async () => {
    const text = summary.textContent
    try {
      await navigator.clipboard.writeText(text)
    } catch {
      const range = document.createRange()
      range.selectNodeContents(summary)
      const selection = window.getSelection()
      selection.removeAllRanges()
      selection.addRange(range)
      document.execCommand('copy')
    }
    status.textContent = 'Summary copied.'
  })
  print.addEventListener('click', () => window.print())
}

// Complaint suggestions: one cached JSON file instead of a long list inside every start page.
const suggestionList = document.getElementById('complaint-titles')
if (suggestionList && suggestionList.dataset.src) {
  fetch(suggestionList.dataset.src)
    .then((response) => response.json())
    .then((titles) => {
      const options = titles.map((title) => {
        const option = document.createElement('option')
        option.value = title
        return option
      })
      suggestionList.replaceChildren(...options)
      suggestionList.dataset.loaded = String(options.length)
    })
    .catch(() => { suggestionList.dataset.loaded = '0' })
}
