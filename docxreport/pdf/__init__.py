"""PDF: conversion of rendered documents through LibreOffice (``office``), and reading published PDFs."""
