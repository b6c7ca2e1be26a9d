/*! Frontdesk web chat widget. Embed with:
 *  <script src="https://support.example.com/widget.js" data-frontdesk-url="https://support.example.com"
 *          data-title="Chat with us" async></script>
 * Plain JavaScript, no dependencies, no build step. Talks to the API in docs/webchat-api.md.
 * Security rule for this file: server and customer text is only ever assigned with textContent. */
(function () {
  "use strict";
  if (window.Frontdesk) return; // embedded twice on the same page: keep the first one

  // document.currentScript is null inside callbacks, so read the tag's attributes right away.
  var script = document.currentScript || document.querySelector("script[data-frontdesk-url]") ||
    document.querySelector('script[src*="widget.js"]');
  var scriptOrigin = script && script.src ? new URL(script.src, location.href).origin : location.origin;
  var BASE = ((script && script.getAttribute("data-frontdesk-url")) || scriptOrigin).replace(/\/+$/, "");
  var KEY = "frontdesk:" + BASE; // several Frontdesk servers may be embedded on one site over time

  // ---------------------------------------------------------------- strings
  // Every text the widget itself shows. Keys are shared by all languages; a key missing in a
  // language falls back to English. "{name}" placeholders are filled in by t(key, {name: ...}).
  var STRINGS = {
    en: {
      title: "Chat with us",
      open_chat: "Open chat",
      close_chat: "Close chat",
      typing: "Typing",
      placeholder: "Type your message\u2026",
      message_label: "Message",
      send: "Send",
      you: "You",
      agent: "Agent",
      assistant: "Assistant",
      http_error: "Something went wrong (HTTP {status}).",
      reference: "reference {reference}",
      unavailable: "The chat is unavailable right now.",
      download_failed: "The file could not be downloaded; try again.",
      reconnecting: "Reconnecting\u2026",
      sending: "Sending\u2026",
      not_sent: "Not sent",
      retrying: "Not sent yet, retrying\u2026",
      // messages: delivery state, retry, files, keyboard help
      sent: "Sent",
      retry: "Retry",
      retry_label: "Retry sending: {text}",
      files_not_kept: "Not sent: attach the files again to send them",
      messages_label: "Messages",
      composer_hint: "Enter sends, Shift+Enter adds a new line",
      attach: "Attach files",
      remove_file: "Remove {name}",
      download_file: "Download {name}",
      drop_files: "Drop files here to attach them",
      file_from_clipboard: "pasted-image",
      files_attached: "{count} file(s) attached",
      yesterday: "Yesterday",
      // configuration: availability banner, pre-chat form, email capture
      away_until: "We\u2019re away right now \u2014 we\u2019ll reply from {time}.",
      away: "We\u2019re away right now \u2014 we\u2019ll reply as soon as we\u2019re back.",
      reply_within: "We aim to reply within {duration}.",
      prechat_intro: "Before we start, please tell us who you are.",
      prechat_intro_optional: "Tell us who you are, so we know how to reach you (optional).",
      prechat_name: "Name",
      prechat_email: "Email",
      prechat_start: "Start chat",
      prechat_skip: "Skip",
      name_required: "Please enter your name.",
      invalid_email: "Please enter a valid email address.",
      capture_text: "Leave your email so our team can contact you. Our reply will also appear here in this chat.",
      capture_save: "Save",
      capture_dismiss: "No thanks",
      capture_done: "Thanks! Our team can now contact you at {email}.",
      capture_text_mail: "Leave your email and we'll send our reply there too if you're no longer here. It will also appear in this chat.",
      capture_done_mail: "Thanks! If you've left when we reply, we'll send it to {email}."
    },
    de: {
      title: "Schreiben Sie uns",
      open_chat: "Chat \u00f6ffnen",
      close_chat: "Chat schlie\u00dfen",
      typing: "Schreibt gerade",
      placeholder: "Nachricht schreiben\u2026",
      message_label: "Nachricht",
      send: "Senden",
      you: "Sie",
      agent: "Kundenservice",
      assistant: "Assistent",
      http_error: "Etwas ist schiefgelaufen (HTTP {status}).",
      reference: "Referenz {reference}",
      unavailable: "Der Chat ist gerade nicht verf\u00fcgbar.",
      download_failed: "Die Datei konnte nicht heruntergeladen werden. Bitte versuchen Sie es erneut.",
      reconnecting: "Verbindung wird wiederhergestellt\u2026",
      sending: "Wird gesendet\u2026",
      not_sent: "Nicht gesendet",
      retrying: "Noch nicht gesendet, neuer Versuch\u2026",
      sent: "Gesendet",
      retry: "Erneut versuchen",
      retry_label: "Erneut senden: {text}",
      files_not_kept: "Nicht gesendet: H\u00e4ngen Sie die Dateien erneut an, um sie zu senden",
      messages_label: "Nachrichten",
      composer_hint: "Eingabetaste sendet, Umschalt+Eingabetaste f\u00fcgt eine neue Zeile ein",
      attach: "Dateien anh\u00e4ngen",
      remove_file: "{name} entfernen",
      download_file: "{name} herunterladen",
      drop_files: "Dateien hier ablegen, um sie anzuh\u00e4ngen",
      file_from_clipboard: "eingefuegtes-bild",
      files_attached: "{count} Datei(en) angeh\u00e4ngt",
      yesterday: "Gestern",
      away_until: "Wir sind gerade nicht da \u2013 wir antworten ab {time}.",
      away: "Wir sind gerade nicht da \u2013 wir antworten, sobald wir zur\u00fcck sind.",
      reply_within: "Angestrebte Antwortzeit: {duration}.",
      prechat_intro: "Bevor es losgeht: Bitte sagen Sie uns, wer Sie sind.",
      prechat_intro_optional: "Sagen Sie uns, wer Sie sind, damit wir Sie erreichen k\u00f6nnen (optional).",
      prechat_name: "Name",
      prechat_email: "E-Mail",
      prechat_start: "Chat starten",
      prechat_skip: "\u00dcberspringen",
      name_required: "Bitte geben Sie Ihren Namen ein.",
      invalid_email: "Bitte geben Sie eine g\u00fcltige E-Mail-Adresse ein.",
      capture_text: "Hinterlassen Sie Ihre E-Mail-Adresse, damit unser Team Sie kontaktieren kann. Unsere Antwort erscheint au\u00dferdem hier im Chat.",
      capture_save: "Speichern",
      capture_dismiss: "Nein, danke",
      capture_done: "Danke! Unser Team kann Sie jetzt unter {email} erreichen.",
      capture_text_mail: "Hinterlassen Sie Ihre E-Mail-Adresse: Sind Sie nicht mehr hier, wenn wir antworten, senden wir Ihnen die Antwort auch per E-Mail. Sie erscheint au\u00dferdem hier im Chat.",
      capture_done_mail: "Danke! Sind Sie nicht mehr hier, wenn wir antworten, senden wir die Antwort an {email}."
    },
    fr: {
      title: "Discutez avec nous",
      open_chat: "Ouvrir le chat",
      close_chat: "Fermer le chat",
      typing: "En train d\u2019\u00e9crire",
      placeholder: "\u00c9crivez votre message\u2026",
      message_label: "Message",
      send: "Envoyer",
      you: "Vous",
      agent: "Conseiller",
      assistant: "Assistant",
      http_error: "Une erreur s\u2019est produite (HTTP {status}).",
      reference: "r\u00e9f\u00e9rence {reference}",
      unavailable: "Le chat n\u2019est pas disponible pour le moment.",
      download_failed: "Le fichier n\u2019a pas pu \u00eatre t\u00e9l\u00e9charg\u00e9\u00a0; veuillez r\u00e9essayer.",
      reconnecting: "Reconnexion\u2026",
      sending: "Envoi\u2026",
      not_sent: "Non envoy\u00e9",
      retrying: "Pas encore envoy\u00e9, nouvelle tentative\u2026",
      sent: "Envoy\u00e9",
      retry: "R\u00e9essayer",
      retry_label: "Renvoyer\u00a0: {text}",
      files_not_kept: "Non envoy\u00e9\u00a0: joignez \u00e0 nouveau les fichiers pour les envoyer",
      messages_label: "Messages",
      composer_hint: "Entr\u00e9e pour envoyer, Maj+Entr\u00e9e pour aller \u00e0 la ligne",
      attach: "Joindre des fichiers",
      remove_file: "Retirer {name}",
      download_file: "T\u00e9l\u00e9charger {name}",
      drop_files: "D\u00e9posez les fichiers ici pour les joindre",
      file_from_clipboard: "image-collee",
      files_attached: "{count} fichier(s) joint(s)",
      yesterday: "Hier",
      away_until: "Nous sommes absents pour le moment \u2014 nous vous r\u00e9pondrons \u00e0 partir de {time}.",
      away: "Nous sommes absents pour le moment \u2014 nous vous r\u00e9pondrons d\u00e8s notre retour.",
      reply_within: "Nous nous effor\u00e7ons de r\u00e9pondre dans un d\u00e9lai de {duration}.",
      prechat_intro: "Avant de commencer, dites-nous qui vous \u00eates.",
      prechat_intro_optional: "Dites-nous qui vous \u00eates, pour que nous puissions vous recontacter (facultatif).",
      prechat_name: "Nom",
      prechat_email: "E-mail",
      prechat_start: "D\u00e9marrer le chat",
      prechat_skip: "Passer",
      name_required: "Veuillez saisir votre nom.",
      invalid_email: "Veuillez saisir une adresse e-mail valide.",
      capture_text: "Laissez votre adresse e-mail pour que notre \u00e9quipe puisse vous contacter. Notre r\u00e9ponse s\u2019affichera aussi ici, dans ce chat.",
      capture_save: "Enregistrer",
      capture_dismiss: "Non merci",
      capture_done: "Merci\u00a0! Notre \u00e9quipe peut d\u00e9sormais vous contacter \u00e0 l\u2019adresse {email}.",
      capture_text_mail: "Laissez votre adresse e-mail : si vous n\u2019\u00eates plus l\u00e0 quand nous r\u00e9pondrons, nous vous enverrons aussi notre r\u00e9ponse par e-mail. Elle s\u2019affichera \u00e9galement ici, dans ce chat.",
      capture_done_mail: "Merci\u00a0! Si vous n\u2019\u00eates plus l\u00e0 quand nous r\u00e9pondrons, nous l\u2019enverrons \u00e0 {email}."
    },
    es: {
      title: "Escr\u00edbanos",
      open_chat: "Abrir el chat",
      close_chat: "Cerrar el chat",
      typing: "Escribiendo",
      placeholder: "Escriba su mensaje\u2026",
      message_label: "Mensaje",
      send: "Enviar",
      you: "Usted",
      agent: "Agente",
      assistant: "Asistente",
      http_error: "Algo sali\u00f3 mal (HTTP {status}).",
      reference: "referencia {reference}",
      unavailable: "El chat no est\u00e1 disponible en este momento.",
      download_failed: "No se pudo descargar el archivo; int\u00e9ntelo de nuevo.",
      reconnecting: "Reconectando\u2026",
      sending: "Enviando\u2026",
      not_sent: "No enviado",
      retrying: "A\u00fan no enviado, reintentando\u2026",
      sent: "Enviado",
      retry: "Reintentar",
      retry_label: "Volver a enviar: {text}",
      files_not_kept: "No enviado: adjunte los archivos de nuevo para enviarlos",
      messages_label: "Mensajes",
      composer_hint: "Intro env\u00eda, May\u00fas+Intro a\u00f1ade una l\u00ednea nueva",
      attach: "Adjuntar archivos",
      remove_file: "Quitar {name}",
      download_file: "Descargar {name}",
      drop_files: "Suelte los archivos aqu\u00ed para adjuntarlos",
      file_from_clipboard: "imagen-pegada",
      files_attached: "{count} archivo(s) adjunto(s)",
      yesterday: "Ayer",
      away_until: "Ahora mismo no estamos disponibles \u2014 le responderemos a partir de {time}.",
      away: "Ahora mismo no estamos disponibles \u2014 le responderemos en cuanto volvamos.",
      reply_within: "Intentamos responder en un plazo de {duration}.",
      prechat_intro: "Antes de empezar, d\u00edganos qui\u00e9n es.",
      prechat_intro_optional: "D\u00edganos qui\u00e9n es para que podamos contactarle (opcional).",
      prechat_name: "Nombre",
      prechat_email: "Correo electr\u00f3nico",
      prechat_start: "Iniciar chat",
      prechat_skip: "Omitir",
      name_required: "Introduzca su nombre.",
      invalid_email: "Introduzca una direcci\u00f3n de correo electr\u00f3nico v\u00e1lida.",
      capture_text: "D\u00e9jenos su correo electr\u00f3nico para que nuestro equipo pueda contactarle. Nuestra respuesta tambi\u00e9n aparecer\u00e1 aqu\u00ed, en este chat.",
      capture_save: "Guardar",
      capture_dismiss: "No, gracias",
      capture_done: "\u00a1Gracias! Nuestro equipo ya puede contactarle en {email}.",
      capture_text_mail: "D\u00e9jenos su correo electr\u00f3nico: si ya no est\u00e1 aqu\u00ed cuando respondamos, tambi\u00e9n le enviaremos la respuesta por correo. Adem\u00e1s aparecer\u00e1 aqu\u00ed, en este chat.",
      capture_done_mail: "\u00a1Gracias! Si ya no est\u00e1 aqu\u00ed cuando respondamos, se la enviaremos a {email}."
    },
    it: {
      title: "Chatta con noi",
      open_chat: "Apri la chat",
      close_chat: "Chiudi la chat",
      typing: "Sta scrivendo",
      placeholder: "Scrivi un messaggio\u2026",
      message_label: "Messaggio",
      send: "Invia",
      you: "Tu",
      agent: "Operatore",
      assistant: "Assistente",
      http_error: "Si \u00e8 verificato un errore (HTTP {status}).",
      reference: "riferimento {reference}",
      unavailable: "La chat non \u00e8 disponibile al momento.",
      download_failed: "Impossibile scaricare il file; riprova.",
      reconnecting: "Riconnessione in corso\u2026",
      sending: "Invio in corso\u2026",
      not_sent: "Non inviato",
      retrying: "Non ancora inviato, nuovo tentativo\u2026",
      sent: "Inviato",
      retry: "Riprova",
      retry_label: "Riprova a inviare: {text}",
      files_not_kept: "Non inviato: allega di nuovo i file per inviarli",
      messages_label: "Messaggi",
      composer_hint: "Invio per inviare, Maiusc+Invio per andare a capo",
      attach: "Allega file",
      remove_file: "Rimuovi {name}",
      download_file: "Scarica {name}",
      drop_files: "Trascina qui i file per allegarli",
      file_from_clipboard: "immagine-incollata",
      files_attached: "File allegati: {count}",
      yesterday: "Ieri",
      away_until: "Al momento non siamo disponibili \u2014 ti risponderemo a partire da {time}.",
      away: "Al momento non siamo disponibili \u2014 ti risponderemo appena torniamo.",
      reply_within: "Cerchiamo di rispondere entro {duration}.",
      prechat_intro: "Prima di iniziare, dicci chi sei.",
      prechat_intro_optional: "Dicci chi sei, cos\u00ec sappiamo come contattarti (facoltativo).",
      prechat_name: "Nome",
      prechat_email: "Email",
      prechat_start: "Inizia la chat",
      prechat_skip: "Salta",
      name_required: "Inserisci il tuo nome.",
      invalid_email: "Inserisci un indirizzo email valido.",
      capture_text: "Lasciaci la tua email cos\u00ec il nostro team pu\u00f2 contattarti. La nostra risposta apparir\u00e0 anche qui, in questa chat.",
      capture_save: "Salva",
      capture_dismiss: "No, grazie",
      capture_done: "Grazie! Il nostro team ora pu\u00f2 contattarti all\u2019indirizzo {email}.",
      capture_text_mail: "Lasciaci la tua email: se non sarai pi\u00f9 qui quando risponderemo, ti invieremo la risposta anche via email. Apparir\u00e0 comunque anche qui, in questa chat.",
      capture_done_mail: "Grazie! Se non sarai pi\u00f9 qui quando risponderemo, la invieremo a {email}."
    },
    nl: {
      title: "Chat met ons",
      open_chat: "Chat openen",
      close_chat: "Chat sluiten",
      typing: "Aan het typen",
      placeholder: "Typ uw bericht\u2026",
      message_label: "Bericht",
      send: "Versturen",
      you: "U",
      agent: "Medewerker",
      assistant: "Assistent",
      http_error: "Er ging iets mis (HTTP {status}).",
      reference: "referentie {reference}",
      unavailable: "De chat is op dit moment niet beschikbaar.",
      download_failed: "Het bestand kon niet worden gedownload; probeer het opnieuw.",
      reconnecting: "Opnieuw verbinden\u2026",
      sending: "Versturen\u2026",
      not_sent: "Niet verstuurd",
      retrying: "Nog niet verstuurd, opnieuw proberen\u2026",
      sent: "Verstuurd",
      retry: "Opnieuw proberen",
      retry_label: "Opnieuw versturen: {text}",
      files_not_kept: "Niet verstuurd: voeg de bestanden opnieuw toe om ze te versturen",
      messages_label: "Berichten",
      composer_hint: "Enter verstuurt, Shift+Enter voegt een nieuwe regel toe",
      attach: "Bestanden toevoegen",
      remove_file: "{name} verwijderen",
      download_file: "{name} downloaden",
      drop_files: "Sleep bestanden hierheen om ze toe te voegen",
      file_from_clipboard: "geplakte-afbeelding",
      files_attached: "{count} bestand(en) toegevoegd",
      yesterday: "Gisteren",
      away_until: "We zijn er nu niet \u2014 we antwoorden vanaf {time}.",
      away: "We zijn er nu niet \u2014 we antwoorden zodra we terug zijn.",
      reply_within: "We streven ernaar binnen {duration} te antwoorden.",
      prechat_intro: "Vertel ons voordat we beginnen wie u bent.",
      prechat_intro_optional: "Vertel ons wie u bent, zodat we weten hoe we u kunnen bereiken (optioneel).",
      prechat_name: "Naam",
      prechat_email: "E-mail",
      prechat_start: "Chat starten",
      prechat_skip: "Overslaan",
      name_required: "Vul uw naam in.",
      invalid_email: "Vul een geldig e-mailadres in.",
      capture_text: "Laat uw e-mailadres achter, zodat ons team contact met u kan opnemen. Ons antwoord verschijnt ook hier in deze chat.",
      capture_save: "Opslaan",
      capture_dismiss: "Nee, bedankt",
      capture_done: "Bedankt! Ons team kan u nu bereiken op {email}.",
      capture_text_mail: "Laat uw e-mailadres achter: bent u er niet meer wanneer we antwoorden, dan sturen we ons antwoord ook per e-mail. Het verschijnt ook hier in deze chat.",
      capture_done_mail: "Bedankt! Bent u er niet meer wanneer we antwoorden, dan sturen we het naar {email}."
    },
    pt: {
      title: "Fale conosco",
      open_chat: "Abrir o chat",
      close_chat: "Fechar o chat",
      typing: "Digitando",
      placeholder: "Digite sua mensagem\u2026",
      message_label: "Mensagem",
      send: "Enviar",
      you: "Voc\u00ea",
      agent: "Atendente",
      assistant: "Assistente",
      http_error: "Algo deu errado (HTTP {status}).",
      reference: "refer\u00eancia {reference}",
      unavailable: "O chat n\u00e3o est\u00e1 dispon\u00edvel no momento.",
      download_failed: "N\u00e3o foi poss\u00edvel baixar o arquivo; tente novamente.",
      reconnecting: "Reconectando\u2026",
      sending: "Enviando\u2026",
      not_sent: "N\u00e3o enviada",
      retrying: "Ainda n\u00e3o enviada, tentando novamente\u2026",
      sent: "Enviada",
      retry: "Tentar novamente",
      retry_label: "Reenviar: {text}",
      files_not_kept: "N\u00e3o enviada: anexe os arquivos novamente para envi\u00e1-los",
      messages_label: "Mensagens",
      composer_hint: "Enter envia, Shift+Enter insere uma nova linha",
      attach: "Anexar arquivos",
      remove_file: "Remover {name}",
      download_file: "Baixar {name}",
      drop_files: "Solte os arquivos aqui para anex\u00e1-los",
      file_from_clipboard: "imagem-colada",
      files_attached: "{count} arquivo(s) anexado(s)",
      yesterday: "Ontem",
      away_until: "N\u00e3o estamos dispon\u00edveis agora \u2014 responderemos a partir de {time}.",
      away: "N\u00e3o estamos dispon\u00edveis agora \u2014 responderemos assim que voltarmos.",
      reply_within: "Procuramos responder em at\u00e9 {duration}.",
      prechat_intro: "Antes de come\u00e7ar, diga-nos quem voc\u00ea \u00e9.",
      prechat_intro_optional: "Diga-nos quem voc\u00ea \u00e9, para sabermos como entrar em contato (opcional).",
      prechat_name: "Nome",
      prechat_email: "E-mail",
      prechat_start: "Iniciar chat",
      prechat_skip: "Pular",
      name_required: "Informe seu nome.",
      invalid_email: "Informe um endere\u00e7o de e-mail v\u00e1lido.",
      capture_text: "Deixe seu e-mail para que nossa equipe possa entrar em contato. Nossa resposta tamb\u00e9m aparecer\u00e1 aqui, neste chat.",
      capture_save: "Salvar",
      capture_dismiss: "N\u00e3o, obrigado",
      capture_done: "Obrigado! Nossa equipe agora pode entrar em contato pelo e-mail {email}.",
      capture_text_mail: "Deixe seu e-mail: se voc\u00ea n\u00e3o estiver mais aqui quando respondermos, enviaremos a resposta tamb\u00e9m por e-mail. Ela tamb\u00e9m aparecer\u00e1 aqui, neste chat.",
      capture_done_mail: "Obrigado! Se voc\u00ea n\u00e3o estiver mais aqui quando respondermos, enviaremos para {email}."
    },
    pl: {
      title: "Porozmawiaj z nami",
      open_chat: "Otw\u00f3rz czat",
      close_chat: "Zamknij czat",
      typing: "Pisze",
      placeholder: "Napisz wiadomo\u015b\u0107\u2026",
      message_label: "Wiadomo\u015b\u0107",
      send: "Wy\u015blij",
      you: "Ty",
      agent: "Konsultant",
      assistant: "Asystent",
      http_error: "Co\u015b posz\u0142o nie tak (HTTP {status}).",
      reference: "numer referencyjny {reference}",
      unavailable: "Czat jest teraz niedost\u0119pny.",
      download_failed: "Nie uda\u0142o si\u0119 pobra\u0107 pliku; spr\u00f3buj ponownie.",
      reconnecting: "Ponowne \u0142\u0105czenie\u2026",
      sending: "Wysy\u0142anie\u2026",
      not_sent: "Nie wys\u0142ano",
      retrying: "Jeszcze nie wys\u0142ano, ponawianie\u2026",
      sent: "Wys\u0142ano",
      retry: "Pon\u00f3w",
      retry_label: "Wy\u015blij ponownie: {text}",
      files_not_kept: "Nie wys\u0142ano: do\u0142\u0105cz pliki ponownie, aby je wys\u0142a\u0107",
      messages_label: "Wiadomo\u015bci",
      composer_hint: "Enter wysy\u0142a, Shift+Enter dodaje nowy wiersz",
      attach: "Do\u0142\u0105cz pliki",
      remove_file: "Usu\u0144 {name}",
      download_file: "Pobierz {name}",
      drop_files: "Upu\u015b\u0107 pliki tutaj, aby je do\u0142\u0105czy\u0107",
      file_from_clipboard: "wklejony-obraz",
      files_attached: "Do\u0142\u0105czone pliki: {count}",
      yesterday: "Wczoraj",
      away_until: "Jeste\u015bmy teraz niedost\u0119pni \u2014 odpowiemy od {time}.",
      away: "Jeste\u015bmy teraz niedost\u0119pni \u2014 odpowiemy, gdy tylko wr\u00f3cimy.",
      reply_within: "Nasz docelowy czas odpowiedzi: {duration}.",
      prechat_intro: "Zanim zaczniemy, powiedz nam, kim jeste\u015b.",
      prechat_intro_optional: "Powiedz nam, kim jeste\u015b, aby\u015bmy wiedzieli, jak si\u0119 z Tob\u0105 skontaktowa\u0107 (opcjonalnie).",
      prechat_name: "Imi\u0119 i nazwisko",
      prechat_email: "E-mail",
      prechat_start: "Rozpocznij czat",
      prechat_skip: "Pomi\u0144",
      name_required: "Podaj swoje imi\u0119 i nazwisko.",
      invalid_email: "Podaj prawid\u0142owy adres e-mail.",
      capture_text: "Zostaw sw\u00f3j adres e-mail, aby nasz zesp\u00f3\u0142 m\u00f3g\u0142 si\u0119 z Tob\u0105 skontaktowa\u0107. Nasza odpowied\u017a pojawi si\u0119 te\u017c tutaj, w tym czacie.",
      capture_save: "Zapisz",
      capture_dismiss: "Nie, dzi\u0119kuj\u0119",
      capture_done: "Dzi\u0119kujemy! Nasz zesp\u00f3\u0142 mo\u017ce teraz skontaktowa\u0107 si\u0119 z Tob\u0105 pod adresem {email}.",
      capture_text_mail: "Zostaw sw\u00f3j adres e-mail: je\u015bli nie b\u0119dzie Ci\u0119 tu, gdy odpowiemy, wy\u015blemy odpowied\u017a tak\u017ce e-mailem. Pojawi si\u0119 ona r\u00f3wnie\u017c tutaj, w tym czacie.",
      capture_done_mail: "Dzi\u0119kujemy! Je\u015bli nie b\u0119dzie Ci\u0119 tu, gdy odpowiemy, wy\u015blemy j\u0105 na adres {email}."
    }
  };
  function attr(name) { var v = script && script.getAttribute(name); return v ? String(v).trim() : ""; }
  // Language order: the embedding page's data-lang, then the server's widget config (the
  // conversation's language), then the browser's preferences, then English.
  var serverLang = ""; // set by the configuration (loadConfig), which relabels what is on screen
  function pickLang(tag) {
    tag = String(tag || "").toLowerCase().replace(/_/g, "-");
    if (STRINGS[tag]) return tag;
    var base = tag.split("-")[0];
    return STRINGS[base] ? base : "";
  }
  function widgetLang() {
    var l = pickLang(attr("data-lang")) || pickLang(serverLang);
    if (l) return l;
    var prefs = browserLangs();
    for (var i = 0; i < prefs.length; i++) { if ((l = pickLang(prefs[i]))) return l; }
    return "en";
  }
  function browserLangs() {
    return (navigator.languages && navigator.languages.length) ? navigator.languages : [navigator.language || ""];
  }
  // The languages the visitor asks for, most preferred first: the page's data-lang, else the browser's.
  function langsAsked() { return attr("data-lang") ? [attr("data-lang")] : browserLangs(); }
  // The visitor's own language, sent with each message: the server answers in it when the text
  // itself does not tell (docs/nlp.md). Only a well-formed tag, else none (the server refuses others).
  function visitorLang() {
    var tag = langsAsked()[0] || "";
    return /^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8}){0,3}$/.test(tag) ? tag : "";
  }
  function t(key, vars) {
    var table = STRINGS[widgetLang()] || STRINGS.en;
    var s = table[key] != null ? table[key] : STRINGS.en[key] != null ? STRINGS.en[key] : key;
    return vars ? s.replace(/\{(\w+)\}/g, function (m, k) { return vars[k] != null ? String(vars[k]) : m; }) : s;
  }
  var TITLE = attr("data-title") || t("title");
  var POLL_MS = 4000, FETCH_TIMEOUT_MS = 30000, PING_MS = 25000, PAGE = 500;

  var CSS = [
    ":host{all:initial;position:fixed;right:20px;bottom:20px;z-index:2147483000;--fd-color:#2457d6;",
    "font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2933}",
    "*{box-sizing:border-box}[hidden]{display:none!important}",
    "button{font:inherit;cursor:pointer}",
    ".bubble{position:relative;width:56px;height:56px;border:0;border-radius:50%;background:var(--fd-color);color:#fff;",
    "box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}",
    ".bubble svg{width:28px;height:28px;fill:currentColor}",
    ".badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 5px;border-radius:10px;",
    "background:#d63324;color:#fff;font-size:12px;line-height:20px;text-align:center}",
    ".panel{position:absolute;right:0;bottom:72px;width:360px;max-width:calc(100vw - 40px);height:520px;",
    "max-height:calc(100vh - 112px);display:flex;flex-direction:column;background:#fff;border-radius:12px;",
    "box-shadow:0 8px 30px rgba(0,0,0,.25);overflow:hidden}",
    "header{display:flex;align-items:center;justify-content:space-between;padding:12px 14px;",
    "background:var(--fd-color);color:#fff;font-weight:600}",
    "header button{background:none;border:0;color:#fff;font-size:20px;line-height:1;padding:0 4px}",
    ".status{padding:4px 14px;background:#fff4d6;color:#7a5b00;font-size:12px}",
    ".list{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f5f7fa}",
    ".msg{max-width:80%;display:flex;flex-direction:column;align-items:flex-start}",
    ".msg .who{font-size:11px;color:#616e7c;margin:0 4px 2px}",
    ".msg .text{padding:8px 11px;border-radius:14px;background:#fff;border:1px solid #e4e7eb;",
    "white-space:pre-wrap;overflow-wrap:anywhere}",
    ".msg.customer{align-self:flex-end;align-items:flex-end}",
    ".msg.customer .text{background:var(--fd-color);color:#fff;border-color:var(--fd-color)}",
    ".msg.system{align-self:center;max-width:90%}.msg.system .text{background:none;border:0;color:#616e7c;",
    "font-size:12px;text-align:center}",
    ".msg .files{display:flex;flex-direction:column;gap:4px;margin-top:4px}",
    ".msg .file{border:1px solid #cbd2d9;background:#fff;border-radius:8px;padding:4px 8px;text-align:left}",
    ".msg[data-state=sending] .text{opacity:.7}",
    // Message time and delivery state, Retry, attached files, the drop zone, keyboard focus.
    ".msg .meta{display:flex;flex-wrap:wrap;align-items:center;gap:2px 6px;font-size:11px;color:#52606d;margin:2px 4px 0}",
    ".msg .meta .note{margin:0;color:#52606d}.msg[data-state=failed] .meta .note{color:#b3261e;font-weight:600}",
    ".msg .retry{border:1px solid #b3261e;background:#fff;color:#b3261e;border-radius:10px;padding:1px 9px;font-size:12px}",
    ".msg .files .file[disabled]{cursor:default;color:#52606d}",
    "form[data-fd=form]{flex-wrap:wrap}.attachments{flex-basis:100%;display:flex;flex-wrap:wrap;gap:6px}",
    ".chip{display:inline-flex;align-items:center;gap:2px;max-width:100%;border:1px solid #cbd2d9;border-radius:12px;",
    "padding:1px 2px 1px 10px;background:#f5f7fa;font-size:12px}",
    ".chip span{overflow:hidden;text-overflow:ellipsis;white-space:nowrap;max-width:230px}",
    ".chip button{border:0;background:none;color:#3e4c59;font-size:16px;line-height:1;padding:2px 6px;border-radius:50%}",
    "form button.attach{background:#fff;color:#3e4c59;border:1px solid #cbd2d9;padding:0 9px}",
    "form button.attach svg{width:18px;height:18px;fill:currentColor;vertical-align:middle}",
    ".drop{position:absolute;inset:0;z-index:2;display:flex;align-items:center;justify-content:center;padding:24px;",
    "text-align:center;background:rgba(23,56,140,.94);color:#fff;font-weight:600;border:3px dashed #fff;",
    "border-radius:12px;pointer-events:none}",
    ":focus-visible{outline:3px solid #1f2933;outline-offset:2px}",
    "header button:focus-visible{outline-color:#fff;outline-offset:0}",
    ".bubble:focus-visible{outline:3px solid #1f2933;outline-offset:3px;box-shadow:0 0 0 3px #fff}",
    ".list:focus-visible{outline-offset:-3px}textarea:focus-visible{outline-offset:0}",
    ".typing{align-self:flex-start;padding:10px 12px;border-radius:14px;background:#fff;border:1px solid #e4e7eb}",
    ".typing span{display:inline-block;width:6px;height:6px;margin:0 2px;border-radius:50%;background:#9aa5b1;",
    "animation:fd-blink 1.2s infinite}.typing span:nth-child(2){animation-delay:.2s}",
    ".typing span:nth-child(3){animation-delay:.4s}@keyframes fd-blink{0%,80%,100%{opacity:.3}40%{opacity:1}}",
    ".quick{display:flex;flex-wrap:wrap;gap:6px;padding:0 12px 8px;background:#f5f7fa}",
    ".quick button{border:1px solid var(--fd-color);background:#fff;color:var(--fd-color);border-radius:14px;padding:4px 10px}",
    ".error{padding:6px 14px;background:#fde8e6;color:#a0261b;font-size:12px}",
    "form{display:flex;gap:8px;padding:10px;border-top:1px solid #e4e7eb}",
    "textarea{flex:1;resize:none;font:inherit;color:inherit;padding:8px 10px;border:1px solid #cbd2d9;",
    "border-radius:8px;max-height:120px;min-height:38px}",
    "form button{border:0;border-radius:8px;background:var(--fd-color);color:#fff;padding:0 14px}",
    // Branding, greeting, availability banner, pre-chat form and email capture.
    ":host([data-position=left]){right:auto;left:20px}:host([data-position=left]) .panel{right:auto;left:0}",
    ".launcher{position:absolute;right:66px;bottom:12px;white-space:nowrap;border:0;border-radius:16px;",
    "padding:6px 12px;background:#fff;color:#1f2933;box-shadow:0 2px 10px rgba(0,0,0,.2)}",
    ":host([data-position=left]) .launcher{right:auto;left:66px}",
    "header .who-we-are{display:flex;align-items:center;gap:8px;min-width:0}",
    "header img{width:28px;height:28px;border-radius:50%;object-fit:cover;background:#fff}",
    ".banner{padding:6px 14px;background:#eef2fb;color:#1f2933;font-size:12px;border-bottom:1px solid #e4e7eb}",
    ".banner[data-open=false]{background:#fff4d6;color:#5c4400}",
    "form.card{flex-direction:column;gap:6px;background:#fff;border-top:1px solid #e4e7eb}",
    "form.card p{margin:0;font-size:13px}form.card label{display:flex;flex-direction:column;font-size:12px;gap:2px}",
    "form.card input{font:inherit;color:inherit;padding:7px 9px;border:1px solid #cbd2d9;border-radius:8px}",
    "form.card .row{display:flex;gap:8px;justify-content:flex-end}form.card button{padding:7px 12px}",
    "form.card .row input{flex:1;min-width:0}",
    "form.card button.plain{background:none;color:var(--fd-color);border:1px solid #cbd2d9}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}"
  ].join("");

  // ---------------------------------------------------------------- DOM
  function clip() { // a paperclip icon
    var icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    icon.setAttribute("viewBox", "0 0 24 24");
    icon.setAttribute("aria-hidden", "true");
    var d = document.createElementNS("http://www.w3.org/2000/svg", "path");
    d.setAttribute("d", "M16.5 6.5v10a4.5 4.5 0 0 1-9 0V6a3 3 0 0 1 6 0v9.5a1.5 1.5 0 0 1-3 0V7H9v8.5a3 3 0 0 0 " +
      "6 0V6a4.5 4.5 0 0 0-9 0v10.5a6 6 0 0 0 12 0v-10z");
    icon.appendChild(d);
    return icon;
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    if (text != null) node.textContent = text;
    return node;
  }

  var host = el("frontdesk-chat"); // custom tag: host-page selectors like `div {...}` do not reach it
  // An open root so automated tests (and curious integrators) can reach the elements.
  var root = host.attachShadow({ mode: "open" });
  root.appendChild(el("style", {}, CSS));

  var bubble = el("button", { "class": "bubble", "data-fd": "bubble", "aria-label": t("open_chat"),
    "aria-expanded": "false", type: "button" });
  var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
  svg.appendChild(path);
  var badge = el("span", { "class": "badge", "data-fd": "badge", hidden: "" });
  bubble.append(svg, badge);

  var panel = el("div", { "class": "panel", "data-fd": "panel", role: "dialog", "aria-label": TITLE, hidden: "" });
  var header = el("header");
  var closeBtn = el("button", { type: "button", "data-fd": "close", "aria-label": t("close_chat") }, "\u00d7");
  var avatar = el("img", { "data-fd": "avatar", alt: "", hidden: "" });
  var titleEl = el("span", { "data-fd": "title" }, TITLE);
  var whoWeAre = el("span", { "class": "who-we-are" });
  whoWeAre.append(avatar, titleEl);
  header.append(whoWeAre, closeBtn);
  // Whether the team is in (and when it is back) or how soon it aims to reply: from the config.
  var banner = el("div", { "class": "banner", "data-fd": "availability", hidden: "" });
  var launcher = el("button", { "class": "launcher", type: "button", "data-fd": "launcher-text", hidden: "" });
  var statusLine = el("div", { "class": "status", "data-fd": "status", role: "status", hidden: "" });
  // role=log is an implicit polite live region: screen readers announce new messages as they arrive.
  // tabindex: a scrollable region must be reachable by keyboard, to scroll back with the arrow keys.
  var list = el("div", { "class": "list", "data-fd": "messages", role: "log", "aria-live": "polite",
    "aria-relevant": "additions", "aria-label": t("messages_label"), tabindex: "0" });
  var typing = el("div", { "class": "typing", "data-fd": "typing", role: "img", "aria-label": t("typing"), hidden: "" });
  typing.append(el("span"), el("span"), el("span"));
  var quick = el("div", { "class": "quick", "data-fd": "quick-replies", hidden: "" });
  var errorLine = el("div", { "class": "error", "data-fd": "error", role: "alert", hidden: "" });
  var form = el("form", { "data-fd": "form" });
  var input = el("textarea", { "data-fd": "input", rows: "1", placeholder: t("placeholder"),
    "aria-label": t("message_label") });
  var sendBtn = el("button", { type: "submit", "data-fd": "send" }, t("send"));
  // Files: the paperclip opens the picker; chips above the text box list what goes with the message.
  var attachBtn = el("button", { type: "button", "class": "attach", "data-fd": "attach", "aria-label": t("attach"),
    title: t("attach") });
  attachBtn.appendChild(clip());
  var fileInput = el("input", { type: "file", multiple: "", hidden: "", tabindex: "-1", "aria-hidden": "true",
    "data-fd": "file-input" });
  var chips = el("div", { "class": "attachments", "data-fd": "attachments", role: "group", "aria-label": t("attach"),
    hidden: "" });
  var hint = el("span", { "class": "sr", id: "fd-composer-hint" }, t("composer_hint"));
  input.setAttribute("aria-describedby", "fd-composer-hint");
  form.append(chips, attachBtn, fileInput, input, sendBtn, hint);
  list.appendChild(typing);
  // The pre-chat form and the email capture (built in "configuration" below) go before the composer.
  var prechatSlot = document.createComment("pre-chat");
  panel.append(header, banner, statusLine, list, quick, errorLine, prechatSlot, form);
  root.append(panel, launcher, bubble);

  // ---------------------------------------------------------------- state
  var token = null, sessionPromise = null, sessionFailures = 0, lastReset = 0;
  var lastId = 0;              // highest message id rendered (quick replies, unread count)
  var agentLast = 0, seenSent = 0; // highest agent reply rendered, and the last told "seen"
  // The catch-up cursor: every message up to it has come from the history. Not lastId: a POST's
  // answer or a push can render a newer message first (a message held during an outage is sent
  // on reconnect before the catch-up runs), and fetching after it would skip what came between.
  var fetchedTo = 0;
  // Prototype-less maps: a client_message_id such as "constructor" must not find Object.prototype.
  var rendered = Object.create(null); // message id -> element (de-duplicates socket vs POST vs history)
  var pending = Object.create(null);  // client_message_id -> {cid, text, node, attempt, busy, timer}
  var inFlight = 0, serverTyping = false, typingTimer = null, unread = 0;
  var readyOnce = false; // a socket was ready before on this page: a later ready is a reconnect
  var ws = null, wsUp = false, lastFrameAt = 0, wsFailures = 0, wsTimer = null, pingTimer = null, pollTimer = null;
  var netOk = true, catchingUp = null;

  function store(k, v) {
    try { if (v == null) localStorage.removeItem(KEY + k); else localStorage.setItem(KEY + k, v); }
    catch (e) { /* storage blocked (private mode, sandboxed iframe): the session lasts for this page only */ }
  }
  function load(k) { try { return localStorage.getItem(KEY + k); } catch (e) { return null; } }

  function uuid() {
    if (window.crypto && crypto.randomUUID) {
      try { return crypto.randomUUID(); } catch (e) { /* insecure context (plain http) */ }
    }
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // Capped exponential backoff with "equal jitter", so a server restart is not hit by every
  // open tab in the same instant.
  function backoff(attempt) {
    var d = Math.min(30000, 500 * Math.pow(2, attempt));
    return d / 2 + Math.random() * d / 2;
  }

  // ---------------------------------------------------------------- HTTP
  function NetError() { this.network = true; }

  // Resolves with {status, data}; rejects with NetError when the server could not be reached.
  // A FormData body (a message with files) goes as multipart/form-data, with more time to arrive.
  function api(method, path, body) {
    var form = window.FormData && body instanceof FormData;
    var headers = form ? {} : { "Content-Type": "application/json" }, used = token;
    if (used) headers.Authorization = "Bearer " + used;
    var ctrl = window.AbortController ? new AbortController() : null;
    var timer = ctrl && setTimeout(function () { ctrl.abort(); }, form ? 4 * FETCH_TIMEOUT_MS : FETCH_TIMEOUT_MS);
    return fetch(BASE + path, { method: method, headers: headers, credentials: "omit",
      body: form ? body : body ? JSON.stringify(body) : undefined, signal: ctrl && ctrl.signal })
      .then(function (res) {
        return res.json().catch(function () { return {}; })
          .then(function (data) { return { status: res.status, data: data, token: used }; });
      }, function () { netOk = false; updateStatus(); throw new NetError(); })
      .then(function (r) { netOk = true; updateStatus(); return r; })
      .finally(function () { clearTimeout(timer); });
  }

  function errorText(r) {
    var e = r.data && r.data.error;
    var msg = (e && typeof e.message === "string" && e.message) || t("http_error", { status: r.status });
    if (e && e.reference && msg.indexOf(e.reference) < 0) msg += " (" + t("reference", { reference: e.reference }) + ")";
    return msg;
  }

  // ---------------------------------------------------------------- session
  function startSession(resume) {
    return api("POST", "/api/v1/sessions", resume ? { token: resume } : {}).then(function (r) {
      if (r.status === 401 && resume) { store(":token", null); return startSession(null); }
      if (r.status >= 300 || !r.data.token) throw new Error(errorText(r));
      token = r.data.token;
      store(":token", token);
      customer = r.data.customer || null;
      return token;
    });
  }

  // Single-flight: open(), identify() and the initial resume may all ask at once.
  function ensureSession() {
    if (token) return Promise.resolve(token);
    if (!sessionPromise) {
      sessionPromise = startSession(load(":token")).then(function (t) {
        sessionFailures = 0;
        return catchUp().then(function () { connect(); flushPending(); return t; });
      }, function (e) {
        sessionPromise = null;
        // Unreachable server: try again later; anything else is shown to the visitor.
        if (e && e.network) {
          setTimeout(function () { if (!token) ensureSession().catch(function () {}); }, backoff(++sessionFailures));
        } else {
          showError((e && e.message) || t("unavailable"));
        }
        throw e;
      });
    }
    return sessionPromise;
  }

  // The server no longer accepts our token (expired or revoked): begin a fresh conversation.
  // `bad` is the token that was refused; a late answer for an already replaced token changes nothing.
  function resetSession(bad) {
    if (!token || token !== bad) return ensureSession();
    lastReset = Date.now();
    token = null; sessionPromise = null; lastId = 0; fetchedTo = 0; rendered = Object.create(null);
    greeted = false;
    store(":token", null);
    disconnect();
    // What was confirmed belongs to the old conversation; unsent and refused messages (no id
    // yet) stay, in their order, with their text: the unsent ones go out in the new session.
    for (var c = typing.previousSibling, prev; c; c = prev) {
      prev = c.previousSibling;
      if (c.hasAttribute("data-id")) c.remove(); else c.setAttribute("data-after", "0");
    }
    for (var cid in pending) pending[cid].after = 0;
    saveUnsent();
    setQuickReplies(null);
    return ensureSession();
  }

  // ---------------------------------------------------------------- rendering
  function senderName(m) {
    if (m.sender === "customer") return t("you");
    return m.sender_name || (m.sender === "agent" ? t("agent") : m.sender === "system" ? "" : t("assistant"));
  }

  function bubbleFor(sender, text) {
    var node = el("div", { "class": "msg " + sender, "data-fd": "message", "data-sender": sender });
    node.append(el("div", { "class": "who", "data-fd": "sender" }), el("div", { "class": "text", "data-fd": "text" }, text),
      el("div", { "class": "meta", "data-fd": "meta" }));
    return node;
  }

  // Delivery state of a message: "sending", "sent" (the server committed it and answered) or
  // "failed". Nothing more: the server does not know whether anyone has read it, so neither do we.
  function setNote(node, state, note) {
    node.setAttribute("data-state", state);
    var meta = node.querySelector(".meta"), n = meta.querySelector(".note");
    if (!note) { if (n) n.remove(); return; }
    if (!n) meta.appendChild(n = el("span", { "class": "note", "data-fd": "note" }));
    n.textContent = note;
  }

  // The message's time, in the visitor's time zone and language: hours and minutes today, the
  // date too before today; the full date and time on hover, the exact instant in datetime.
  function setTime(node, iso) {
    var d = new Date(iso), meta = node.querySelector(".meta");
    if (!iso || isNaN(d.getTime()) || meta.querySelector("time")) return;
    // The browser's own locale when it is a variant of the widget's language (en-GB: 24 hours).
    var lang = widgetLang(), nav = String(navigator.language || "");
    if (nav.toLowerCase().split("-")[0] === lang.split("-")[0]) lang = nav;
    var now = new Date(), hm = { hour: "2-digit", minute: "2-digit" }, shown;
    var day = new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
    var today = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
    try {
      shown = d.toLocaleTimeString(lang, hm);
      if (day === today - 86400000) shown = t("yesterday") + " " + shown;
      else if (day !== today) {
        shown = d.toLocaleDateString(lang, d.getFullYear() === now.getFullYear() ?
          { day: "numeric", month: "short" } : { day: "numeric", month: "short", year: "numeric" }) + " " + shown;
      }
    } catch (e) { shown = d.toLocaleString(); }
    var full;
    try { full = d.toLocaleString(lang, { dateStyle: "full", timeStyle: "short" }); } catch (e) { full = d.toString(); }
    meta.insertBefore(el("time", { datetime: d.toISOString(), title: full, "data-fd": "time" }, shown), meta.firstChild);
  }

  // Pushes are at least once: a reply comes in the POST answer and as a push, and after a crash a
  // reclaimed outbox row pushes it again. The interaction id (m.id) is the key, so every copy after
  // the first changes nothing (no bubble, no unread count, no quick replies).
  function render(m, fromHistory) {
    if (!m || typeof m.id !== "number" || rendered[m.id]) return;
    var node, p = m.client_message_id && pending[m.client_message_id];
    if (p) { // our own optimistic bubble: confirm it in place instead of adding a copy
      // Moved only if its place changes: a node re-inserted into the log is announced again.
      node = p.node; clearTimeout(p.timer); delete pending[m.client_message_id];
      node.removeAttribute("data-after");
      var old = node.querySelector(".files"), retryBtn = node.querySelector(".retry");
      if (old) old.remove();
      if (retryBtn) retryBtn.remove();
      saveUnsent();
    } else {
      node = bubbleFor(m.sender === "customer" || m.direction === "in" ? "customer" : m.sender || "bot", "");
    }
    var mine = m.sender === "customer" || m.direction === "in";
    node.querySelector(".who").textContent = senderName(m);
    node.querySelector(".text").textContent = m.text == null ? "" : String(m.text);
    node.querySelector(".text").hidden = !m.text && Array.isArray(m.attachments) && m.attachments.length > 0;
    setFiles(node, m.attachments);
    node.setAttribute("data-id", String(m.id));
    setTime(node, m.created_at);
    setNote(node, "sent", mine ? t("sent") : "");
    rendered[m.id] = node;
    // Keep id order even when the POST response and the socket race. A message not sent yet keeps
    // its place: after the message that was the newest when it was written (data-after).
    var before = typing;
    for (var c = typing.previousSibling; c; c = c.previousSibling) {
      if (c === node) continue;
      var cid = c.getAttribute("data-id"), after = c.getAttribute("data-after");
      if (cid ? Number(cid) < m.id : after != null && Number(after) < m.id) break;
      before = c;
    }
    var nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    if (node.parentNode !== list || (node.nextSibling !== before && node !== before)) list.insertBefore(node, before);
    if (m.id > lastId) {
      lastId = m.id;
      if (m.direction === "out") {
        setQuickReplies(m.quick_replies);
        serverTyping = false; updateTyping();
        if (!fromHistory && panel.hidden) { unread++; badge.textContent = String(unread); badge.hidden = false; }
      } else {
        setQuickReplies(null);
      }
    }
    if (nearBottom || m.direction === "in" || fromHistory) list.scrollTop = list.scrollHeight;
    if (m.sender === "agent" && m.id > agentLast) { agentLast = m.id; markSeen(); }
  }

  // An agent's reply shown in the open chat of a visible page is seen: the server mails a copy
  // only of replies nobody saw (docs/webchat-api.md, "Replies by email"). Told over the socket.
  function markSeen() {
    if (panel.hidden || document.hidden || agentLast <= seenSent || !wsUp || !ws || ws.readyState !== 1) return;
    seenSent = agentLast;
    ws.send(JSON.stringify({ type: "seen", id: agentLast }));
  }

  // A message's files (an agent's, or the visitor's own): a button each, fetched with the
  // session token (never in a URL) and saved. Files not uploaded yet are listed, not clickable.
  function setFiles(node, files) {
    if (!Array.isArray(files) || !files.length) return;
    var box = el("div", { "class": "files", "data-fd": "files" });
    files.forEach(function (f) {
      var name = String((f && (f.filename || f.name)) || "file");
      if (f && typeof f.url === "string" && f.url.charAt(0) === "/") {
        var b = el("button", { type: "button", "class": "file", "data-fd": "file",
          "aria-label": t("download_file", { name: name }) }, "\uD83D\uDCCE " + name);
        b.addEventListener("click", function () { download(f.url, name); });
        box.appendChild(b);
      } else if (f && !f.url) {
        box.appendChild(el("button", { type: "button", "class": "file", "data-fd": "file-pending", disabled: "" },
          "\uD83D\uDCCE " + name));
      }
    });
    if (box.firstChild) node.insertBefore(box, node.querySelector(".meta"));
  }

  function download(path, name) {
    fetch(BASE + path, { headers: { Authorization: "Bearer " + token }, credentials: "omit" })
      .then(function (res) { if (!res.ok) throw new Error("HTTP " + res.status); return res.blob(); })
      .then(function (blob) {
        var a = el("a", { href: URL.createObjectURL(blob), download: name });
        root.appendChild(a); a.click(); a.remove();
        setTimeout(function () { URL.revokeObjectURL(a.href); }, 60000);
      })
      .catch(function () { showError(t("download_failed")); });
  }

  function setQuickReplies(items) {
    quick.textContent = "";
    (Array.isArray(items) ? items : []).forEach(function (q) {
      if (!q || typeof q.payload !== "string") return;
      var b = el("button", { type: "button", "data-fd": "quick-reply" }, q.label || q.payload);
      b.addEventListener("click", function () { send(q.payload); });
      quick.appendChild(b);
    });
    quick.hidden = !quick.firstChild;
  }

  function updateTyping() {
    typing.hidden = !(inFlight > 0 || serverTyping);
    if (!typing.hidden) list.scrollTop = list.scrollHeight;
  }

  function updateStatus() {
    // Say "Reconnecting" while the server is unreachable, or while the socket is down and we
    // still expect it back; after repeated socket failures with REST working we are simply polling.
    var down = token && (!netOk || (!wsUp && wsFailures > 0 && wsFailures < 4));
    statusLine.textContent = down ? t("reconnecting") : "";
    statusLine.hidden = !down;
  }

  function showError(text) { errorLine.textContent = text || ""; errorLine.hidden = !text; }

  // ---------------------------------------------------------------- history
  // Fetches everything after fetchedTo, page by page; concurrent callers share one request chain.
  // What was rendered already (pushed, or a POST's answer) is fetched again and skipped by id.
  function catchUp() {
    if (!token) return Promise.resolve();
    if (catchingUp) return catchingUp;
    var first = fetchedTo === 0;
    var step = function () {
      return api("GET", "/api/v1/messages?after=" + fetchedTo + "&limit=" + PAGE).then(function (r) {
        if (r.status === 401) { resetSession(r.token).catch(function () {}); return; } // not returned: waits on us
        if (r.status !== 200 || !Array.isArray(r.data.messages)) return;
        r.data.messages.forEach(function (m) {
          render(m, first);
          if (typeof m.id === "number" && m.id > fetchedTo) fetchedTo = m.id;
        });
        if (r.data.messages.length === PAGE) return step();
      });
    };
    catchingUp = step().catch(function () { /* offline: the next poll or reconnect retries */ })
      .finally(function () { catchingUp = null; });
    return catchingUp;
  }

  // ---------------------------------------------------------------- sending
  // A message goes out as "sending" and becomes "sent" once the server has committed it (its
  // answer or its echo names our client_message_id). A message that could not be delivered
  // after a few tries is "failed" and gets a Retry button (and goes out by itself once the socket
  // reconnects to a server that was unreachable); a refused one (4xx) is "failed" with the server's
  // reason. Retries reuse the client_message_id, so the server never stores it
  // twice. Unsent messages (text and id) are kept in localStorage and survive a reload.
  var AUTO_TRIES = 3, unsentSeq = 0;
  // What the log does not announce by itself (a message that failed, files attached), said politely.
  var announcer = el("div", { "class": "sr", role: "status", "data-fd": "announcer" });
  panel.appendChild(announcer);
  function announce(text) {
    announcer.textContent = "";
    setTimeout(function () { announcer.textContent = text; }, 50); // a change, even for the same text
  }

  function send(text, files) {
    text = String(text).replace(/^\s+|\s+$/g, "");
    files = files || [];
    if (!text && !files.length) return;
    showError("");
    var p = queue({ cid: uuid(), text: text, files: files, after: lastId, state: "sending" });
    list.scrollTop = list.scrollHeight;
    setQuickReplies(null);
    saveUnsent();
    ensureSession().then(function () { post(p); }, function () { /* flushPending runs once a session exists */ });
  }

  // The bubble of a message not confirmed yet, placed after the message it followed (p.after).
  function queue(p) {
    p.node = bubbleFor("customer", p.text);
    p.attempt = 0; p.busy = false; p.timer = null; p.seq = ++unsentSeq;
    p.node.querySelector(".who").textContent = t("you");
    p.node.querySelector(".text").hidden = !p.text;
    p.node.setAttribute("data-after", String(p.after || 0));
    p.node.setAttribute("data-cid", p.cid);
    setFiles(p.node, p.files.length ? p.files : p.names);
    pending[p.cid] = p;
    var before = typing;
    for (var c = typing.previousSibling; c; c = c.previousSibling) {
      var cid = c.getAttribute("data-id"), after = c.getAttribute("data-after");
      if (cid ? Number(cid) <= p.after : after != null) break;
      before = c;
    }
    list.insertBefore(p.node, before);
    if (p.state === "failed") failed(p, p.files.length || !p.names ? "" : t("files_not_kept"));
    else setNote(p.node, "sending", t("sending"));
    return p;
  }

  function post(p) {
    if (p.busy || !pending[p.cid] || !token || p.state !== "sending") return;
    p.busy = true; inFlight++; updateTyping();
    var body = { client_message_id: p.cid, text: p.text }, hint = visitorLang();
    if (hint) body.language = hint;
    if (p.files.length) {
      body = new FormData();
      body.append("client_message_id", p.cid);
      body.append("text", p.text);
      if (hint) body.append("language", hint);
      p.files.forEach(function (f) { body.append("files", f, f.name || t("file_from_clipboard")); });
    }
    api("POST", "/api/v1/messages", body).then(function (r) {
      if (r.status === 200 && r.data.message) {
        render(r.data.message);
        (r.data.replies || []).forEach(function (m) { render(m); });
      } else if (r.status === 401) {
        resetSession(r.token).catch(function () {});
      } else if (r.status >= 400 && r.status < 500 && r.status !== 408 && r.status !== 429) {
        refused(p, errorText(r));
      } else {
        retryLater(p, errorText(r));
      }
    }, function () {
      // Unknown whether it arrived: resend the SAME client_message_id and the server de-duplicates.
      retryLater(p, null);
    }).finally(function () {
      p.busy = false; inFlight--; updateTyping();
    });
  }

  // The server refused this message (too long, a file too large or of the wrong type...): its
  // message says what to fix. The text goes back into an empty composer, to be fixed and resent.
  function refused(p, reason) {
    delete pending[p.cid];
    saveUnsent();
    setNote(p.node, "failed", t("not_sent"));
    showError(reason);
    if (!input.value && p.text) { input.value = p.text; input.dispatchEvent(new Event("input")); }
  }

  function retryLater(p, serverError) {
    if (!pending[p.cid]) return;
    clearTimeout(p.timer);
    // Offline, the message simply waits ("sending") for the connection to come back.
    // ("online" sends it; the slow timer is for browsers whose onLine is wrong).
    var offline = navigator.onLine === false;
    if (!offline && ++p.attempt >= AUTO_TRIES) { p.unreachable = true; failed(p, serverError || ""); return; }
    setNote(p.node, "sending", serverError ? t("retrying") : t("sending"));
    p.timer = setTimeout(function () { post(p); }, backoff(offline ? 6 : p.attempt));
  }

  function failed(p, reason) {
    p.state = "failed";
    saveUnsent();
    setNote(p.node, "failed", reason || t("not_sent"));
    announce((reason || t("not_sent")) + ": " + (p.text || ""));
    if (p.node.querySelector(".retry") || (!p.files.length && p.names)) return; // files lost in a reload
    var b = el("button", { type: "button", "class": "retry", "data-fd": "retry",
      "aria-label": t("retry_label", { text: p.text || (p.files[0] && p.files[0].name) || "" }) }, t("retry"));
    b.addEventListener("click", function () {
      resume(p);
      ensureSession().then(function () { post(p); }, function () {});
      input.focus(); // the button is gone: focus goes back to the composer
    });
    p.node.querySelector(".meta").appendChild(b);
  }

  // A failed message goes back to "sending" (Retry pressed, or the server reachable again).
  function resume(p) {
    var b = p.node.querySelector(".retry");
    if (b) b.remove();
    p.state = "sending"; p.attempt = 0; p.unreachable = false;
    saveUnsent();
    setNote(p.node, "sending", t("sending"));
  }

  // reconnected: the server is back after this page lost it, so the messages that failed while it
  // was unreachable (not those the server refused, nor those restored by a reload) go out again.
  function flushPending(reconnected) {
    for (var cid in pending) {
      var p = pending[cid];
      if (reconnected && p.state === "failed" && p.unreachable) resume(p);
      p.attempt = 0; clearTimeout(p.timer); post(p);
    }
  }

  // Unsent messages in localStorage: text, id, state and place, not the files (they may be large).
  function saveUnsent() {
    var keep = [];
    for (var cid in pending) {
      var p = pending[cid];
      if (!p.files.length && p.names && p.state === "failed") continue; // shown once, after the reload
      keep.push({ cid: p.cid, text: p.text, after: p.after || 0, state: p.state, seq: p.seq,
        names: p.files.length ? p.files.map(function (f) { return { name: f.name }; }) : p.names || null });
    }
    keep.sort(function (a, b) { return a.seq - b.seq; });
    store(":unsent", keep.length ? JSON.stringify(keep) : null);
  }

  function restoreUnsent() {
    var saved;
    try { saved = JSON.parse(load(":unsent") || "[]"); } catch (e) { saved = []; }
    if (!Array.isArray(saved)) return;
    saved.forEach(function (s) {
      if (!s || typeof s.cid !== "string" || typeof s.text !== "string" || pending[s.cid]) return;
      var names = Array.isArray(s.names) && s.names.length ? s.names : null;
      queue({ cid: s.cid, text: s.text, files: [], names: names, after: Number(s.after) || 0,
        state: names || s.state === "failed" ? "failed" : "sending" });
    });
  }

  // ---------------------------------------------------------------- live updates
  function connect() {
    clearTimeout(wsTimer);
    if (ws || !token) return;
    if (!window.WebSocket) { startPolling(); return; }
    var sock;
    try { sock = new WebSocket(BASE.replace(/^http/, "ws") + "/api/v1/ws"); }
    catch (e) { wsFailures = 99; startPolling(); return; }
    ws = sock;
    var authToken = token;
    // The server answers the auth frame within seconds; a socket stuck before "ready" (a proxy
    // that swallows frames) would otherwise leave us with neither live updates nor polling.
    var readyTimer = setTimeout(function () { if (!wsUp && ws === sock) dropSocket(); }, 15000);
    sock.onopen = function () { sock.send(JSON.stringify({ type: "auth", token: authToken })); };
    sock.onmessage = function (ev) {
      var f;
      lastFrameAt = Date.now();
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (f.type === "ready") {
        clearTimeout(readyTimer);
        wsUp = true; wsFailures = 0; stopPolling(); updateStatus();
        catchUp(); flushPending(readyOnce); // anything posted while we were away
        markSeen();
        readyOnce = true;
        clearInterval(pingTimer);
        // Pings keep idle proxies from cutting us off, and a missing pong reveals a connection
        // that died silently (Wi-Fi switch, sleeping laptop) long before TCP would notice.
        pingTimer = setInterval(function () {
          if (Date.now() - lastFrameAt > 2 * PING_MS + 5000) dropSocket();
          else if (sock.readyState === 1) sock.send(JSON.stringify({ type: "ping" }));
        }, PING_MS);
      } else if (f.type === "message") {
        render(f.message);
      } else if (f.type === "resync") {
        catchUp(); // an event too large to push: fetch it from the history
      } else if (f.type === "typing") {
        serverTyping = !!f.active; updateTyping();
        // Never leave the dots spinning if the "active: false" frame is lost.
        clearTimeout(typingTimer);
        if (serverTyping) typingTimer = setTimeout(function () { serverTyping = false; updateTyping(); }, 20000);
      }
    };
    sock.onclose = function (ev) {
      clearTimeout(readyTimer);
      if (ws !== sock) return; // a socket we already replaced
      // 4401: the token is no longer valid. (Rate-limited: a server whose socket refuses the tokens its
      // REST API just issued must not make us create a session per second; we poll instead.)
      if (ev.code === 4401 && authToken === token && Date.now() - lastReset > 60000) {
        disconnect(); resetSession(authToken).catch(function () {}); return;
      }
      socketLost();
    };
  }

  function socketLost() {
    ws = null; wsUp = false; clearInterval(pingTimer);
    wsFailures++; updateStatus();
    startPolling(); // REST keeps replies flowing until the socket is back
    clearTimeout(wsTimer);
    wsTimer = setTimeout(connect, backoff(Math.min(wsFailures, 6)));
  }

  // Closing a half-dead socket can take a long time to report; forget it right away instead.
  function dropSocket() {
    if (!ws) return;
    ws.onclose = null; ws.close();
    socketLost();
  }

  function disconnect() {
    clearTimeout(wsTimer); clearInterval(pingTimer);
    var sock = ws;
    ws = null; wsUp = false;
    if (sock) { sock.onclose = null; sock.close(); }
  }

  function startPolling() {
    if (!pollTimer) pollTimer = setInterval(function () { if (!document.hidden) catchUp(); }, POLL_MS);
  }
  function stopPolling() { clearInterval(pollTimer); pollTimer = null; }

  // The OS knows about network changes long before a half-dead TCP connection times out.
  window.addEventListener("offline", function () {
    netOk = false;
    dropSocket();
    updateStatus();
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && pollTimer) catchUp();
    markSeen();
  });
  window.addEventListener("online", function () {
    if (!token) { ensureSession().catch(function () {}); return; }
    wsFailures = Math.max(wsFailures, 1);
    connect(); catchUp(); flushPending();
  });

  // ---------------------------------------------------------------- configuration
  // GET /api/v1/widget: branding, the greeting, whether the team is in, the pre-chat form. The
  // script tag's data- attributes win over the server's branding (docs/webchat-api.md).
  var config = null, customer = null, greeted = false;
  var HEX = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

  function loadConfig() {
    var q = langsAsked().slice(0, 8).filter(function (l) { return /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$/.test(l); });
    // A plain GET without custom headers: no CORS preflight, and the browser may cache it a minute.
    return fetch(BASE + "/api/v1/widget" + (q.length ? "?lang=" + encodeURIComponent(q.join(",")) : ""),
      { credentials: "omit" })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (cfg) {
        if (!cfg || typeof cfg !== "object") return;
        config = cfg;
        // The server's language counts only when it is one the visitor asked for (not its fallback).
        serverLang = cfg.language_matched && typeof cfg.language === "string" ? cfg.language : "";
        relabel();
        applyBranding();
        showAvailability();
        if (!panel.hidden) greet();
      }, function () { /* no config: the widget's defaults and the data- attributes stay */ });
  }

  function branding(name, dataAttr) {
    var b = (config && config.branding) || {};
    return attr(dataAttr) || (typeof b[name] === "string" ? b[name] : "");
  }

  function applyBranding() {
    var color = branding("color", "data-color");
    if (HEX.test(color)) host.style.setProperty("--fd-color", color);
    host.setAttribute("data-position", branding("position", "data-position") === "left" ? "left" : "right");
    var title = branding("title", "data-title") || t("title");
    titleEl.textContent = title;
    panel.setAttribute("aria-label", title);
    var src = branding("avatar_url", "data-avatar");
    // https://... as given; a path is on the Frontdesk server (the site embedding us may be elsewhere).
    var ok = /^https?:\/\//.test(src) || (src.charAt(0) === "/" && src.charAt(1) !== "/");
    if (ok) { avatar.src = src.charAt(0) === "/" ? BASE + src : src; avatar.hidden = false; }
    else { avatar.removeAttribute("src"); avatar.hidden = true; }
    var label = branding("launcher_text", "data-launcher-text");
    launcher.textContent = label;
    launcher.hidden = !label || !panel.hidden;
  }

  // Static labels in the widget's language, once the server's configuration has settled it.
  function relabel() {
    bubble.setAttribute("aria-label", t(panel.hidden ? "open_chat" : "close_chat"));
    closeBtn.setAttribute("aria-label", t("close_chat"));
    typing.setAttribute("aria-label", t("typing"));
    input.setAttribute("placeholder", t("placeholder"));
    input.setAttribute("aria-label", t("message_label"));
    sendBtn.textContent = t("send");
    relabelComposer(); // the message list, the paperclip, the files, the keyboard hint
  }

  function duration(seconds) {
    var lang = widgetLang(), unit = "minute", n = Math.max(1, Math.round(seconds / 60));
    if (seconds >= 2 * 86400) { unit = "day"; n = Math.round(seconds / 86400); }
    else if (seconds >= 3600) { unit = "hour"; n = Math.round(seconds / 360) / 10; }
    try { return new Intl.NumberFormat(lang, { style: "unit", unit: unit, unitDisplay: "long" }).format(n); }
    catch (e) { return n + " " + unit + (n === 1 ? "" : "s"); }
  }

  function when(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return "";
    var opts = { weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    if (d.getTime() - Date.now() > 6 * 86400000) { opts.day = "numeric"; opts.month = "short"; }
    try { return d.toLocaleString(widgetLang(), opts); } catch (e) { return d.toLocaleString(); }
  }

  function away() { var a = config && config.availability; return !!(a && a.open === false); }

  function showAvailability() {
    var a = config && config.availability, text = "";
    if (a && a.open === false) text = a.opens_at ? t("away_until", { time: when(a.opens_at) }) : t("away");
    else if (a && a.open && typeof a.reply_within_seconds === "number") {
      text = t("reply_within", { duration: duration(a.reply_within_seconds) });
    }
    banner.textContent = text;
    banner.setAttribute("data-open", a && a.open === false ? "false" : "true");
    banner.hidden = !text;
  }

  // The greeting is shown, never stored: only on a conversation with no messages yet, so a
  // reload (whose history has the visitor's first message) never shows it twice.
  function greet() {
    if (!config || !token) return;
    showForms();
    // Not on a conversation that has begun, nor while the visitor's first message is on its way.
    if (greeted || lastId > 0 || Object.keys(pending).length) return;
    var w = config.welcome;
    if (w && typeof w.text === "string" && w.text) {
      var node = el("div", { "class": "msg bot", "data-fd": "welcome", "data-sender": "bot", "data-id": "0" });
      // data-id 0: render() keeps every real message after it.
      var who = typeof w.sender_name === "string" && w.sender_name ? w.sender_name : t("assistant");
      node.append(el("div", { "class": "who" }, who), el("div", { "class": "text" }, w.text));
      list.insertBefore(node, list.firstChild);
      greeted = true;
    }
    if (w && Array.isArray(w.quick_replies) && w.quick_replies.length) setQuickReplies(w.quick_replies);
    showForms(); // again: the quick replies wait until a pre-chat form is answered
  }

  // ---- the pre-chat form (name, email before the first message) and the email capture
  var prechat = el("form", { "class": "card", "data-fd": "prechat", novalidate: "", hidden: "" });
  var prechatIntro = el("p", {});
  function field(type, name, max, fd) {
    return el("input", { type: type, name: name, autocomplete: name, maxlength: max, "data-fd": fd });
  }
  var nameInput = field("text", "name", "200", "prechat-name");
  var emailInput = field("email", "email", "320", "prechat-email");
  var nameLabel = el("label", {}), emailLabel = el("label", {});
  var prechatRow = el("div", { "class": "row" });
  var skipBtn = el("button", { type: "button", "class": "plain", "data-fd": "prechat-skip" });
  var startBtn = el("button", { type: "submit", "data-fd": "prechat-submit" });
  prechatRow.append(skipBtn, startBtn);
  prechat.append(prechatIntro, nameLabel, emailLabel, prechatRow);

  var capture = el("form", { "class": "card", "data-fd": "email-capture", novalidate: "", hidden: "" });
  var captureText = el("p", { "data-fd": "email-capture-text" });
  var captureInput = field("email", "email", "320", "email-capture-input");
  var captureRow = el("div", { "class": "row" });
  var captureNo = el("button", { type: "button", "class": "plain", "data-fd": "email-capture-dismiss" });
  var captureBtn = el("button", { type: "submit", "data-fd": "email-capture-submit" });
  captureRow.append(captureInput, captureBtn, captureNo);
  capture.append(captureText, captureRow);
  panel.insertBefore(capture, prechatSlot);
  panel.insertBefore(prechat, prechatSlot);

  function known(key) { return !!(customer && customer[key]); }
  function validEmail(v) { return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v); }

  function showForms() {
    var mode = config && config.pre_chat_form;
    var wantForm = (mode === "optional" || mode === "required") && lastId === 0 && !known("email") &&
      load(":prechat") !== "done";
    if (wantForm && prechat.hidden) {
      var required = mode === "required";
      prechatIntro.textContent = t(required ? "prechat_intro" : "prechat_intro_optional");
      nameLabel.textContent = t("prechat_name"); nameLabel.appendChild(nameInput);
      emailLabel.textContent = t("prechat_email"); emailLabel.appendChild(emailInput);
      startBtn.textContent = t("prechat_start");
      skipBtn.textContent = t("prechat_skip");
      skipBtn.hidden = required;
      nameInput.required = required; emailInput.required = required;
    }
    prechat.hidden = !wantForm;
    form.hidden = wantForm;
    quick.hidden = wantForm || !quick.firstChild; // no quick reply past a form still to answer
    var wantCapture = !wantForm && away() && !!(config && config.email_capture) && !known("email") &&
      !load(":capture");
    if (wantCapture && capture.hidden) {
      captureText.textContent = t(config.email_replies ? "capture_text_mail" : "capture_text");
      captureInput.setAttribute("aria-label", t("prechat_email"));
      captureInput.setAttribute("placeholder", t("prechat_email"));
      captureBtn.textContent = t("capture_save");
      captureNo.textContent = t("capture_dismiss");
    }
    capture.hidden = !wantCapture;
  }

  function identified(c) { customer = c || customer; }

  prechat.addEventListener("submit", function (e) {
    e.preventDefault();
    var name = nameInput.value.trim(), email = emailInput.value.trim(), required = nameInput.required;
    if (required && !name) { showError(t("name_required")); nameInput.focus(); return; }
    if ((required || email) && !validEmail(email)) { showError(t("invalid_email")); emailInput.focus(); return; }
    if (!name && !email) { skipBtn.click(); return; }
    var who = {};
    if (name) who.name = name;
    if (email) who.email = email;
    startBtn.disabled = true;
    window.Frontdesk.identify(who).then(function (c) {
      identified(c); showError(""); store(":prechat", "done"); showForms(); input.focus();
    }, function (err) { showError((err && err.message) || t("unavailable")); })
      .finally(function () { startBtn.disabled = false; });
  });
  skipBtn.addEventListener("click", function () { store(":prechat", "done"); showForms(); input.focus(); });

  capture.addEventListener("submit", function (e) {
    e.preventDefault();
    var email = captureInput.value.trim();
    if (!validEmail(email)) { showError(t("invalid_email")); captureInput.focus(); return; }
    captureBtn.disabled = true;
    window.Frontdesk.identify({ email: email }).then(function (c) {
      identified(c); showError(""); store(":capture", "done");
      capture.hidden = true;
      var note = el("div", { "class": "banner", "data-fd": "email-capture-done", role: "status" },
        t(config && config.email_replies ? "capture_done_mail" : "capture_done", { email: email }));
      panel.insertBefore(note, capture);
      setTimeout(function () { note.remove(); }, 8000);
    }, function (err) { showError((err && err.message) || t("unavailable")); })
      .finally(function () { captureBtn.disabled = false; });
  });
  captureNo.addEventListener("click", function () {
    store(":capture", "dismissed"); capture.hidden = true; input.focus();
  });
  launcher.addEventListener("click", function () { bubble.click(); });

  // ---------------------------------------------------------------- files
  function relabelComposer() {
    list.setAttribute("aria-label", t("messages_label"));
    attachBtn.setAttribute("aria-label", t("attach")); attachBtn.title = t("attach");
    chips.setAttribute("aria-label", t("attach"));
    hint.textContent = t("composer_hint");
    dropZone.textContent = t("drop_files");
    showChips();
  }

  // Files go with the next message: chosen with the paperclip, dropped onto the panel or pasted
  // (a screenshot). The server checks size, count and type and says what to fix (refused()).
  var staged = [];
  var dropZone = el("div", { "class": "drop", "data-fd": "drop-zone", "aria-hidden": "true", hidden: "" },
    t("drop_files"));
  panel.appendChild(dropZone);

  function addFiles(files) {
    Array.prototype.forEach.call(files || [], function (f) { if (f && typeof f.size === "number") staged.push(f); });
    showChips();
    if (staged.length) announce(t("files_attached", { count: staged.length }));
  }

  function showChips() {
    chips.textContent = "";
    staged.forEach(function (f, i) {
      var name = f.name || t("file_from_clipboard");
      var chip = el("span", { "class": "chip", "data-fd": "attachment" });
      var x = el("button", { type: "button", "data-fd": "remove-attachment", "aria-label": t("remove_file", { name: name }) },
        "\u00d7");
      x.addEventListener("click", function () { staged.splice(i, 1); showChips(); input.focus(); });
      chip.append(el("span", { title: name }, name), x);
      chips.appendChild(chip);
    });
    chips.hidden = !staged.length;
  }

  function hasFiles(e) {
    var types = e.dataTransfer && e.dataTransfer.types;
    return !!types && Array.prototype.indexOf.call(types, "Files") >= 0;
  }

  attachBtn.addEventListener("click", function () { fileInput.click(); });
  fileInput.addEventListener("change", function () {
    addFiles(fileInput.files);
    fileInput.value = ""; // choosing the same file again fires change again
    input.focus();
  });
  var dragDepth = 0;
  panel.addEventListener("dragenter", function (e) {
    if (!hasFiles(e)) return;
    e.preventDefault(); dragDepth++; dropZone.hidden = false;
  });
  panel.addEventListener("dragover", function (e) {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
  });
  panel.addEventListener("dragleave", function () { if (--dragDepth <= 0) { dragDepth = 0; dropZone.hidden = true; } });
  panel.addEventListener("drop", function (e) {
    dragDepth = 0; dropZone.hidden = true;
    if (!e.dataTransfer || !e.dataTransfer.files || !e.dataTransfer.files.length) return;
    e.preventDefault();
    addFiles(e.dataTransfer.files);
    input.focus();
  });
  input.addEventListener("paste", function (e) {
    var files = e.clipboardData && e.clipboardData.files;
    if (!files || !files.length) return; // plain text pastes as usual
    e.preventDefault();
    addFiles(files);
  });

  // ---------------------------------------------------------------- panel
  // Focus goes into the panel when it opens (the composer, or the first field of a form shown
  // instead) and back to the launcher when it closes; Escape closes it.
  function focusInto() {
    if (!form.hidden) { input.focus(); return; }
    var first = panel.querySelector("form:not([hidden]) input, form:not([hidden]) button");
    (first || closeBtn).focus();
  }

  function open(restoring) {
    panel.hidden = false;
    bubble.setAttribute("aria-expanded", "true");
    bubble.setAttribute("aria-label", t("close_chat"));
    unread = 0; badge.hidden = true; markSeen();
    try { sessionStorage.setItem(KEY + ":open", "1"); } catch (e) { /* ignore */ }
    launcher.hidden = true;
    // Starting a session creates a customer record, so wait until the visitor shows interest.
    ensureSession().then(greet, function () {});
    list.scrollTop = list.scrollHeight;
    if (restoring !== true) focusInto(); // re-opened after a navigation: do not steal the page's focus
  }
  function close() {
    if (panel.contains(root.activeElement)) bubble.focus(); // focus never falls out of a hidden panel
    panel.hidden = true;
    bubble.setAttribute("aria-expanded", "false");
    bubble.setAttribute("aria-label", t("open_chat"));
    launcher.hidden = !launcher.textContent;
    try { sessionStorage.removeItem(KEY + ":open"); } catch (e) { /* ignore */ }
  }

  bubble.addEventListener("click", function () { if (panel.hidden) open(); else close(); });
  closeBtn.addEventListener("click", function () { close(); bubble.focus(); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") { close(); bubble.focus(); } });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value, files = staged;
    if (!text.trim() && !files.length) { input.focus(); return; }
    input.value = ""; input.style.height = "";
    staged = []; showChips();
    send(text, files);
    input.focus();
  });
  input.addEventListener("keydown", function (e) {
    // isComposing: Enter also confirms an IME candidate (Japanese, Chinese...); that is not a send.
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      if (form.requestSubmit) form.requestSubmit(); else sendBtn.click();
    }
  });
  input.addEventListener("input", function () {
    input.style.height = "";
    input.style.height = Math.min(input.scrollHeight + 2, 120) + "px";
  });

  window.Frontdesk = Object.freeze({
    open: function () { open(); },
    close: close,
    // Attach a name and e-mail to the visitor; the server answers with a new token to keep.
    identify: function (who) {
      who = who || {};
      var body = {};
      if (typeof who.name === "string") body.name = who.name;
      if (typeof who.email === "string") body.email = who.email;
      return ensureSession().then(function () { return api("POST", "/api/v1/identify", body); }).then(function (r) {
        if (r.status !== 200) throw new Error(errorText(r));
        if (r.data.token) { token = r.data.token; store(":token", token); }
        if (r.data.customer) customer = r.data.customer;
        return r.data.customer;
      });
    }
  });

  function mount() {
    (document.body || document.documentElement).appendChild(host);
    applyBranding(); // the data- attributes at once; the server's branding when it answers
    loadConfig();
    restoreUnsent(); // before the history, which places itself around them
    // A returning visitor sees their conversation (and unread replies) without creating anything new.
    if (load(":token") || Object.keys(pending).length) ensureSession().catch(function () {});
    var wasOpen = false;
    try { wasOpen = sessionStorage.getItem(KEY + ":open") === "1"; } catch (e) { /* ignore */ }
    if (wasOpen) open(true);
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
