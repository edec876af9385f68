// What axe does not check (WCAG 2.2 1.4.11 and 2.4.7): the border of every visible form
// control against what is behind it, and the focus indicator of a text field, each at
// least 3:1. Returns the controls that fall short (tests/e2e/conftest.py).
(() => {
  const rgb = (c) => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const p = m[1].split(',').map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = ({r, g, b}) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const behind = (el) => { for (let n = el.parentElement; n; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor); if (c && c.a > 0.5) return c; }
    return {r: 255, g: 255, b: 255, a: 1}; };
  // A control inside a closed <details> keeps its box (Chromium hides it by
  // content-visibility) but can be neither seen nor focused: checkVisibility knows.
  const visible = (el) => { const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && el.checkVisibility({visibilityProperty: true}); };
  const bad = [];
  const controls = [...document.querySelectorAll(
    'input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=file]), select, textarea')].filter(visible);
  for (const el of controls) {
    const s = getComputedStyle(el); const border = rgb(s.borderTopColor);
    if (!border || parseFloat(s.borderTopWidth) < 1) { bad.push(`${el.name || el.id}: no border`); continue; }
    const r = ratio(border, behind(el));
    if (r < 3) bad.push(`${el.name || el.id}: border ${r.toFixed(2)}:1`);
  }
  const text = controls.find((el) => el.matches('input[type=text], input[type=email], input:not([type]), input[type=search], textarea'));
  if (text) {
    const before = document.activeElement; text.focus({preventScroll: true});
    const s = getComputedStyle(text); const back = behind(text);
    const colours = [s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 ? rgb(s.outlineColor) : null,
      ...(s.boxShadow.match(/rgba?\([^)]+\)/g) || []).map(rgb)].filter(Boolean);
    const best = Math.max(0, ...colours.map((c) => ratio(c, back)));
    if (best < 3) bad.push(`${text.name || text.id}: focus indicator ${best.toFixed(2)}:1`);
    text.blur();
    if (before && before !== document.body && before.focus) before.focus({preventScroll: true});
    else {
      // Nothing had focus: put the sequential-focus starting point back at the top of the
      // page (a blurred field stays the point Tab moves on from), so the next Tab reaches
      // the skip link as it would have.
      const mark = document.createElement('span'); mark.tabIndex = -1;
      document.body.prepend(mark); mark.focus({preventScroll: true}); mark.blur(); mark.remove();
    }
  }
  return bad;
})
