"""Sentence fragments by genre. ``{KEY}`` slots are filled by ``values.MAKERS``.

Fragments at even positions form the *tune* split, odd positions the *holdout* split:
the regression corpus shipped in the repo is generated from holdout fragments only,
so scores on it are not scores on text the detector was tuned against.
"""

from __future__ import annotations

CLINICAL = [
    "Patient {NAME} was admitted on {DATE} with chest pain.",
    "{NAME}, a {AGE}-year-old from {CITY}, presented to the ED complaining of dizziness.",
    "DOB: {DOB}. MRN: {MRN}.",
    "Seen by {DOCTOR} at {COMPANY} on {DATE}.",
    "Pt is a {AGE} y/o {NRP} woman referred by {DOCTOR}.",
    "Discharge summary for {NAME} (medical record number {MRN}), date of birth {DOB}.",
    "Home address: {ADDRESS}.",
    "Emergency contact: {NAME}, phone {USPHONE}.",
    "Insurance member ID {PLAN}; policy holder {NAME}.",
    "The patient lives alone in {CITYSTATE} and walks daily.",
    "Follow-up with {DOCTOR} in two weeks; call {USPHONE} to schedule.",
    "Pacemaker serial number {DEVICE} checked on {DATE}, normal function.",
    "{NAME} reports that her daughter {NAME} manages her medications.",
    "Labs drawn at {TIME}; results faxed to fax {FAX}.",
    "{AGE} year old male, born in {COUNTRY}, history of hypertension.",
    "Consent signed by {NAME} on {DATE} at {TIME}.",
    "Patient portal account {EMAIL} was reset by {NAME}.",
    "Aged {AGE}, the patient moved to {CITY} last year.",
    "Referral letter from {COMPANY}, {STREET}, received {DATE}.",
    "Assessment: stable. Plan: recheck in {CITY} clinic.",
    "Patient SSN {SSN} verified against chart {MRN}.",
    "Photo ID: driver's license {DL} presented at check-in.",
    "{NAME} ({AGE} yrs) was transferred from {COMPANY} to our unit.",
    "Medicare number {PLAN} on file; secondary coverage with {COMPANY}.",
]

TICKETS = [
    "Hi, my name is {NAME} and I can't log in with {EMAIL}.",
    "Customer {NAME} called from {PHONE} about order delays.",
    "Please update billing: card {CARD}, account {ACCOUNT}.",
    "Refund to IBAN {IBAN} requested by {NAME}.",
    "Ship to {ADDRESS}.",
    "User reports that {URL} returns a 500 error since {DATE}.",
    "Ticket opened by {EMAIL} on {DATETIME}.",
    "The device with MAC {MAC} keeps dropping off the network.",
    "My SSN is {SSN} and my passport number is {PASSPORT}.",
    "Contact {NAME} at {COMPANY} regarding the renewal.",
    "Account number {ACCOUNT} was locked after three attempts.",
    "I moved from {CITY}, {COUNTRY} to {CITYSTATE} last month.",
    "Agent {FIRST} escalated the case to tier 2.",
    "Please call me back on {PHONE}, thanks, {NAME}",
    "Vehicle VIN {VIN} registered to {NAME}.",
    "License plate {PLATE} was seen in the parking lot.",
    "The domain {DOMAIN} expired on {DATE}.",
    "ITIN {ITIN} belongs to {NAME}, who works for {COMPANY}.",
    "Driver license number: {DL}, issued {DATE}.",
    "Our office at {STREET} is closed on {DATE}.",
    "Forwarded to {EMAIL} and {EMAIL} and {EMAIL}.",
    "Requester: {NAME} <{EMAIL}>",
]

CHAT = [
    "hey it's {FIRST}, are we still meeting at {TIME}?",
    "{FIRST}: sure, text me at {PHONE}",
    "lol {NAME} just moved to {CITY}",
    "my new email is {EMAIL} btw",
    "Thanks {FIRST}! See you in {CITY}.",
    "Can you send it to {NAME}? Her number is {PHONE}.",
    "I was born on {DOB} in {COUNTRY}.",
    "{NAME} and {NAME} are coming too.",
    "heading to {COUNTRY} on {DATE}, back {DATE}",
    "I'm {AGE} years old and live near {CITY}.",
    "check out {URL}",
    "{FIRST} said the {NRP} festival is on {DATE}.",
    "ask {FIRST} for the wifi, or ping {EMAIL}",
    "Dinner at {FIRST}'s place in {CITY} tonight?",
]

LOGS = [
    "{DATETIME} INFO auth login ok user={EMAIL} ip={IPV4}",
    "{DATETIME} WARN rate limit exceeded for {IPV4} (429)",
    "{DATETIME} ERROR Connection refused from {IPV6}",
    "[{DATETIME}] GET {URL} 200 {IPV4}",
    "{DATETIME} DEBUG device {MAC} registered",
    "{DATETIME} INFO Payment processed for account {ACCOUNT}",
    "{DATETIME} ERROR Failed to send mail to {EMAIL}: timeout",
    "{DATETIME} INFO Worker 3 started; 12 jobs queued; build 1.4.27",
    "{DATETIME} WARN Disk usage 91% on node-7",
    "{DATETIME} INFO resolved {DOMAIN} to {IPV4}",
]

NEGATIVES = [
    "Dr. will see you shortly.",
    "Will the results be ready by then?",
    "May we call you back later?",
    "Hope this helps.",
    "Reference number {SSN_FAKE} is not valid.",
    "Order 48213 shipped in 3 boxes.",
    "Card ending {BADCARD} was declined.",
    "Version 2.10.4 fixes the login bug.",
    "Total due: $1,284.50 by end of month.",
    "Room 204 is on the second floor.",
    "Chase the lab for results, Grant approval pending.",
    "Please read the public library policy.",
    "Take 2 tablets every 8 hours with food.",
    "The Patient Portal will be down for maintenance.",
    "Call Center hours are posted online.",
    "Case 7731-22 was closed.",
    "Error code 0x80070005 returned.",
    "Summer hours start next week.",
]

GENRES: dict[str, list[str]] = {
    "clinical": CLINICAL,
    "ticket": TICKETS,
    "chat": CHAT,
    "log": LOGS,
}
