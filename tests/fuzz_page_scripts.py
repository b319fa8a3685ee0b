"""The JavaScript the fuzz test (``tests/fuzz_helpers.py``) runs in the page: what it shows,
whether it is busy, which inputs it has, and a count of the script runs it has started."""

from tests.browser_helpers import EXCEPTION_SELECTOR

# textContent, not innerText: a message inside a closed expander counts too.
_STATE_JS = """() => {
  const texts = sel => [...document.querySelectorAll(sel)]
    .map(e => e.textContent.split(/[ \\n\\t]+/).join(" ").trim());
  return {
    exceptions: texts('EXCEPTION'),
    errors: texts('[data-testid="stAlertContentError"]'),
    warnings: texts('[data-testid="stAlertContentWarning"]'),
    infos: texts('[data-testid="stAlertContentInfo"], [data-testid="stAlertContentSuccess"]'),
    captions: texts('[data-testid="stCaptionContainer"]'),
    chips: [...document.querySelectorAll('[data-testid="stFileChip"]')]
      .filter(e => e.querySelector('[data-testid="stFileChipIconError"]'))
      .map(e => e.innerText.trim()),
    headings: document.querySelectorAll('[data-testid="stMain"] h1').length,
  };
}""".replace("EXCEPTION", EXCEPTION_SELECTOR)

# Busy while the script (or a fragment) runs, an upload is under way, a spinner turns or a
# widget's code is still loading (a skeleton in its place). The status widget would show a
# run only after 500 ms; the app root says it at once.
_BUSY_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.dataset.testScriptState !== "notRunning") return true;
  return !!document.querySelector('[data-testid="stSpinner"], [data-testid="stSkeleton"],'
    + ' [data-testid="stFileChipIconSpinner"]');
}"""

_INPUTS_JS = """() => {
  const label = e => { const l = e.querySelector('label'); return l ? l.textContent.trim() : ''; };
  const side = e => !!e.closest('[data-testid="stSidebar"]');
  const out = [];
  for (const e of document.querySelectorAll('[data-testid="stFileUploader"]')) {
    const hint = e.querySelector('[data-testid="stFileUploaderDropzoneInstructions"]');
    out.push({testid: 'stFileUploader', label: label(e), hint: hint ? hint.textContent : '',
              sidebar: side(e)});
  }
  for (const t of ['stNumberInput', 'stTextInput'])
    for (const e of document.querySelectorAll(`[data-testid="${t}"]`))
      out.push({testid: t, label: label(e), hint: '', sidebar: side(e)});
  return out;
}"""

_RADIOS_JS = """() => [...document.querySelectorAll('[data-testid="stRadio"]')].map(e => {
  const labels = [...e.querySelectorAll('label')].map(l => l.textContent.trim());
  return {label: labels[0], options: labels.slice(1)};
})"""

# The labels of the sidebar's folded sections (a <details> not open), in the page's order.
_FOLDED_SIDEBAR_JS = """() => [...document.querySelectorAll(
  '[data-testid="stSidebar"] [data-testid="stExpander"] details:not([open]) > summary')]
  .map(s => (s.querySelector('[data-testid="stMarkdownContainer"]') || s).textContent.trim())"""

# The main area's popovers, each by its key's class (``st-key-…``) or, unkeyed, by its button's
# text, leaving out the worked examples' list (``*.all_examples``): it holds the examples' select
# box and a button, nothing to feed. A closed popover's contents are not in the page at all.
_POPOVERS_JS = """() => [...document.querySelectorAll(
  '[data-testid="stMain"] [data-testid="stPopover"]')].map(e => {
    let keyed = null;
    for (let x = e; x && !keyed; x = x.parentElement)
      keyed = [...x.classList].find(c => c.startsWith('st-key-')) || null;
    const button = e.querySelector('button');
    return {key: keyed, text: button ? button.textContent.trim() : ''};
  })
  .filter(p => !(p.key || '').endsWith('-all_examples'))"""

# Marks the tab that shows an element's outermost hidden tab panel (``data-fuzz-tab``), for
# the test to click; false when no tab hides it. A panel is its tabs' n-th, as its tab is.
_TAB_JS = """e => {
  let panel = null;
  for (let x = e; x; x = x.parentElement)
    if (x.dataset?.testid === 'stTabPanel' && x.hasAttribute('data-st-inactive')) panel = x;
  if (!panel) return false;
  const tabs = panel.closest('[data-testid="stTabs"]');
  const own = sel => [...tabs.querySelectorAll(sel)]
    .filter(x => x.closest('[data-testid="stTabs"]') === tabs);
  const tab = own('[data-testid="stTab"]')[own('[data-testid="stTabPanel"]').indexOf(panel)];
  document.querySelectorAll('[data-fuzz-tab]').forEach(x => x.removeAttribute('data-fuzz-tab'));
  if (!tab) return false;
  tab.setAttribute('data-fuzz-tab', '1');
  return true;
}"""

# Counts the runs the app starts (its root's script state turning to "running"), so that a
# change can be waited for until its run has begun, however slow the machine. A run so quick
# that it is over before the observer looks is counted by the record of its end.
_RUNS_INIT = """new MutationObserver(records => {
  for (const record of records) {
    const now = record.target.dataset.testScriptState;
    if (record.oldValue === "running") {
      if (!window.__inRun) window.__runs = (window.__runs || 0) + 1;
      window.__inRun = false;
    } else if (now === "running" && !window.__inRun) {
      window.__runs = (window.__runs || 0) + 1;
      window.__inRun = true;
    }
  }
}).observe(document, {attributes: true, subtree: true, attributeOldValue: true,
  attributeFilter: ["data-test-script-state"]});"""
