# Passerelle — the page shell (header, footer) of the vault's pages, in
# French, the source language. The public portal uses the same words.
# See docs/TRADUIRE.md before changing a message.

## Header

layout-evitement = Aller au contenu
layout-titre-suffixe = Passerelle Mayotte
layout-sous-titre = Observatoire social et médico-social de Mayotte
layout-nav = Navigation principale
layout-accueil = Accueil
layout-themes = Thèmes
layout-annuaire = Annuaire
layout-ressources = Ressources
layout-donnees = Données ouvertes
layout-coffre = Mon coffre-fort
layout-partenaires = Espace partenaires

## Demonstration banner

layout-demo-titre = Démonstration :
layout-demo-texte = les partenaires et toutes les données de ce site sont fictifs.

## Footer
# $nom: the name of the service that runs the hub (for example
# "DEETS de Mayotte").

layout-pied = Service de la { $nom }. Aucune donnée sur une personne n'est publiée : les chiffres qui pourraient désigner quelqu'un sont masqués.
layout-confiance = La confiance dans le réseau
layout-legal = Informations légales
layout-mentions = Mentions légales
layout-donnees-personnelles = Données personnelles
layout-accessibilite = Accessibilité : non conforme

## Language switch (on every vault page)

langue-choix = Langue
langue-en-cours = en cours de traduction

## Dates, in Mayotte's local time
# $jour: 23/11/2026; $heure: 03:00

date-heure-mayotte = { $jour } à { $heure } (heure de Mayotte)
jusqu-au-jour-inclus = { $jour } inclus

## Error pages (every area; in the reader's language on vault pages)

erreur-introuvable = Page introuvable
erreur-introuvable-texte = Cette page n'existe pas, ou elle n'est plus disponible.
erreur-demande = Demande incorrecte
erreur-formulaire = Formulaire refusé
erreur-formulaire-texte = Ce formulaire a expiré ou ne vient pas de ce site.
erreur-acces = Accès refusé
erreur-document = Document indisponible
erreur-interne = Erreur
erreur-interne-texte = Une erreur s'est produite de notre côté. Réessayez plus tard.
erreur-occupe = Service occupé
erreur-occupe-texte = Le service est momentanément indisponible. Réessayez dans quelques minutes.
erreur-retour-accueil = Retour à l'accueil
erreur-recommencer = Recommencer
