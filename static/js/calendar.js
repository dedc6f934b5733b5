/* The clinic calendar. Day view: one FullCalendar time grid per practitioner (or room),
 * side by side. Week view: the one practitioner's (or room's) week the server chose.
 * Agenda (asked for, or any phone-sized screen): one list of every column's sessions.
 *
 * FullCalendar's free build has no resource columns, so each column is its own
 * calendar; they share one event fetch per date range and move together.
 * Times are clinic-local: the calendar runs in the clinic's named time zone without
 * a time-zone plugin ("UTC coercion"), so a Date's UTC fields are the clinic's wall
 * clock, and times go to the server as local ISO strings without an offset.
 * Every change goes through the server's move service; a refusal is shown in words.
 */
(function () {
  "use strict";
  const configNode = document.getElementById("calendar-config");
  if (!configNode || typeof FullCalendar === "undefined") return;
  const cfg = JSON.parse(configNode.textContent);
  const headers = JSON.parse(document.body.getAttribute("data-hx-headers") || "{}");
  const csrf = headers["X-CSRFToken"] || "";
  const ZERO = "00000000-0000-0000-0000-000000000000";
  const alertBox = document.getElementById("calendar-alert");
  const notice = document.getElementById("calendar-notice");
  const shiftBox = document.getElementById("shift-offer");
  const overrideBox = document.getElementById("override-box");
  const calendars = [];
  let cache = {};
  let pendingShift = null;
  let pendingOverride = null;

  function pad(n) { return String(n).padStart(2, "0"); }
  function localIso(date) {
    return date.getUTCFullYear() + "-" + pad(date.getUTCMonth() + 1) + "-" + pad(date.getUTCDate()) +
      "T" + pad(date.getUTCHours()) + ":" + pad(date.getUTCMinutes()) + ":00";
  }
  function show(box, text) { box.textContent = text; box.classList.remove("d-none"); }
  function hide(box) { box.classList.add("d-none"); }
  function clearMessages() { hide(alertBox); hide(notice); }

  function loadEvents(start, end) {
    const key = start + "|" + end;
    if (!cache[key]) {
      const params = new URLSearchParams({ location: cfg.location, start: start, end: end });
      cache[key] = fetch(cfg.eventsUrl + "?" + params.toString(), {
        headers: { Accept: "application/json" }, credentials: "same-origin",
      }).then(function (r) {
        if (!r.ok) throw new Error("The calendar could not be loaded.");
        return r.json();
      });
    }
    return cache[key];
  }

  function refetchAll() {
    cache = {};
    calendars.forEach(function (c) { c.refetchEvents(); });
  }

  function post(url, data) {
    const body = new URLSearchParams(data);
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrf },
    }).then(function (r) {
      return r.json().catch(function () {
        return { ok: false, error: "The server could not process that change." };
      });
    });
  }

  function offerShift(result) {
    const shifts = (result.shifts || []).filter(function (s) { return s.proposedIso; });
    if (!result.course || !shifts.length) { hide(shiftBox); pendingShift = null; return; }
    const list = document.getElementById("shift-list");
    list.innerHTML = "";
    shifts.forEach(function (s) {
      const li = document.createElement("li");
      li.textContent = "Session " + s.sequence + ": " + s.current + " → " + s.proposed +
        (s.required ? " (needed: the current time breaks the spacing rules)" : "");
      list.appendChild(li);
    });
    pendingShift = result;
    shiftBox.classList.remove("d-none");
  }

  function sendMove(info, reason) {
    const id = info.event.id;
    const data = { start: localIso(info.event.start), end: localIso(info.event.end || info.event.start) };
    if (reason) data.override_reason = reason;
    return post(cfg.moveUrl.replace(ZERO, id), data).then(function (result) {
      if (result.ok) {
        hide(overrideBox);
        show(notice, "Moved to " + info.event.start.toLocaleString("en-GB", {
          timeZone: "UTC", weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
        }) + ".");
        offerShift(result);
        refetchAll();
        return;
      }
      if (result.needsOverride && !reason) {
        pendingOverride = info;
        document.getElementById("override-message").textContent = result.error;
        document.getElementById("override-reason").value = "";
        overrideBox.classList.remove("d-none");
        return;
      }
      info.revert();
      hide(overrideBox);
      show(alertBox, result.error || "That change was refused.");
    }).catch(function () {
      info.revert();
      show(alertBox, "The change could not be saved: check the connection and try again.");
    });
  }

  function onChange(info) {
    clearMessages();
    hide(shiftBox);
    sendMove(info, "");
  }

  function book(column, date) {
    const params = new URLSearchParams({ start: localIso(date), location: cfg.location });
    params.set(cfg.mode === "rooms" ? "room" : "practitioner", column.id);
    window.location.href = cfg.bookUrl + "?" + params.toString();
  }

  const agenda = cfg.view === "agenda" || window.matchMedia("(max-width: 767.98px)").matches;
  const columnTitles = {};
  (cfg.allColumns || cfg.columns).forEach(function (c) { columnTitles[c.id] = c.title; });
  function columnOf(e) {
    return cfg.mode === "rooms" ? e.extendedProps.room : e.extendedProps.practitioner;
  }

  // Patient in bold, then what and when: readable at a tablet's column width.
  function eventContent(arg) {
    const parts = arg.event.title.split(" · ");
    const name = document.createElement("div");
    name.className = "ev-name";
    name.textContent = parts[0];
    const what = document.createElement("div");
    what.className = "ev-what";
    what.textContent = (arg.timeText ? arg.timeText + " · " : "") + parts.slice(1).join(" · ");
    return { domNodes: [name, what] };
  }

  function common(extra) {
    return Object.assign({
      initialDate: cfg.date,
      timeZone: cfg.timeZone,
      headerToolbar: false,
      firstDay: 1,
      height: "auto",
      eventTimeFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
      eventClick: function (info) {
        if (info.event.extendedProps.url) window.location.href = info.event.extendedProps.url;
      },
      eventDidMount: function (info) {
        if (info.event.extendedProps.status) {
          info.el.setAttribute("title", info.event.title + " · " + info.event.extendedProps.status);
          info.el.dataset.status = info.event.extendedProps.status;
        }
      },
    }, extra);
  }

  if (agenda) {
    document.getElementById("calendar-columns").classList.add("d-none");
    const box = document.getElementById("calendar-agenda");
    box.classList.remove("d-none");
    const cal = new FullCalendar.Calendar(box.querySelector(".fc-host"), common({
      initialView: cfg.view === "day" ? "listDay" : "listWeek",
      noEventsContent: "No sessions booked.",
      listDayFormat: { weekday: "long", day: "numeric", month: "long" },
      listDaySideFormat: false,
      events: function (info, success, failure) {
        loadEvents(localIso(info.start), localIso(info.end)).then(function (all) {
          success(all.filter(function (e) { return e.display !== "background"; }).map(function (e) {
            const who = columnTitles[columnOf(e)];
            return Object.assign({}, e, { title: who ? e.title + " · " + who : e.title });
          }));
        }).catch(function (err) { show(alertBox, err.message); failure(err); });
      },
    }));
    cal.render();
    calendars.push(cal);
  }

  (agenda ? [] : cfg.columns).forEach(function (column) {
    const host = document.querySelector('[data-column="' + column.id + '"] .fc-host');
    if (!host) return;
    const cal = new FullCalendar.Calendar(host, common({
      initialView: cfg.view === "week" ? "timeGridWeek" : "timeGridDay",
      allDaySlot: true,
      allDayText: "",
      slotMinTime: "07:00:00",
      slotMaxTime: "21:00:00",
      slotDuration: "00:15:00",
      slotLabelInterval: "01:00",
      snapDuration: "00:15:00",
      slotLabelFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
      dayHeaderFormat: cfg.view === "week" ? { weekday: "short", day: "numeric" } : { weekday: "long" },
      businessHours: column.businessHours,
      nowIndicator: true,
      editable: cfg.canEdit,
      eventStartEditable: true,
      eventDurationEditable: true,
      selectable: false,
      longPressDelay: 350,
      eventLongPressDelay: 350,
      eventContent: eventContent,
      events: function (info, success, failure) {
        loadEvents(localIso(info.start), localIso(info.end)).then(function (all) {
          success(all.filter(function (e) {
            return e.display === "background" || columnOf(e) === column.id;
          }));
        }).catch(function (err) { show(alertBox, err.message); failure(err); });
      },
      dateClick: function (info) { if (!info.allDay) book(column, info.date); },
      eventDrop: onChange,
      eventResize: onChange,
    }));
    cal.render();
    calendars.push(cal);
  });

  // Many columns on a small screen scroll sideways: the row must be reachable by keyboard.
  const row = document.getElementById("calendar-columns");
  if (row && row.scrollWidth > row.clientWidth + 1) {
    row.setAttribute("tabindex", "0");
    row.setAttribute("role", "region");
    row.setAttribute("aria-label", "Calendar columns (scrolls sideways)");
  }

  function afterNavigate() {
    if (!calendars.length) return;
    const cal = calendars[0];
    document.getElementById("calendar-title").textContent = cal.view.title;
    const day = localIso(cal.getDate()).slice(0, 10);
    document.getElementById("calendar-date-field").value = day;
    document.querySelectorAll("[data-view-link]").forEach(function (a) {
      const url = new URL(a.href, window.location.href);
      url.searchParams.set("date", day);
      a.href = url.toString();
    });
    const here = new URL(window.location.href);
    here.searchParams.set("date", day);
    window.history.replaceState(null, "", here.toString());
  }

  document.querySelectorAll("[data-nav]").forEach(function (button) {
    button.addEventListener("click", function () {
      const action = button.dataset.nav;
      calendars.forEach(function (c) { c[action](); });
      afterNavigate();
    });
  });
  afterNavigate();

  document.getElementById("shift-apply").addEventListener("click", function () {
    if (!pendingShift) return;
    const data = {};
    pendingShift.shifts.forEach(function (s) { if (s.proposedIso) data["session_" + s.sequence] = s.proposedIso; });
    post(cfg.shiftUrl.replace(ZERO, pendingShift.course), data).then(function (result) {
      hide(shiftBox);
      if (result.ok) { show(notice, "Later sessions moved."); refetchAll(); }
      else show(alertBox, result.error || "The later sessions could not be moved.");
    });
  });
  document.getElementById("shift-dismiss").addEventListener("click", function () {
    hide(shiftBox);
    pendingShift = null;
  });
  document.getElementById("override-apply").addEventListener("click", function () {
    const reason = document.getElementById("override-reason").value.trim();
    if (!pendingOverride) return;
    if (!reason) { document.getElementById("override-reason").focus(); return; }
    const info = pendingOverride;
    pendingOverride = null;
    sendMove(info, reason);
  });
  document.getElementById("override-dismiss").addEventListener("click", function () {
    if (pendingOverride) pendingOverride.revert();
    pendingOverride = null;
    hide(overrideBox);
  });
})();
